import { describe, expect, it } from "vitest";
import { addressGroup } from "../src/http/client-address.js";

describe("addressGroup: what the sign-in throttle counts under", () => {
  it("keeps IPv4 addresses, also when mapped into IPv6", () => {
    expect(addressGroup("203.0.113.9")).toBe("203.0.113.9");
    expect(addressGroup("::ffff:203.0.113.9")).toBe("203.0.113.9");
    expect(addressGroup("::FFFF:127.0.0.1")).toBe("127.0.0.1");
  });

  it("groups IPv6 addresses by their /64, however they are written", () => {
    expect(addressGroup("2001:db8:1:2::1")).toBe("2001:db8:1:2::/64");
    expect(addressGroup("2001:0db8:0001:0002:aaaa:bbbb:cccc:dddd")).toBe("2001:db8:1:2::/64");
    expect(addressGroup("2001:DB8:1:2:0:0:0:ffff")).toBe("2001:db8:1:2::/64");
    expect(addressGroup("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressGroup("::1")).toBe("0:0:0:0::/64");
    expect(addressGroup("2001:db8:1:3::1")).not.toBe(addressGroup("2001:db8:1:2::1"));
  });
});
