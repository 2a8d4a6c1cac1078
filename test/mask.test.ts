import { describe, expect, it } from "vitest";
import { maskNumber, maskSender } from "../src/domain/mask.js";

describe("masking", () => {
  it("keeps only the last 4 digits of a phone number, whatever its format", () => {
    expect(maskNumber("+14155550123")).toBe("•••0123");
    expect(maskNumber("+1 (415) 555-0123")).toBe("•••0123");
    expect(maskNumber("•••0123")).toBe("•••0123");
  });
  it("leaves values without digits readable: they are not numbers", () => {
    expect(maskNumber("web")).toBe("web");
    expect(maskNumber("unknown")).toBe("unknown");
  });
  it("masks any sender to its last 4 characters, phone numbers to their last 4 digits", () => {
    expect(maskSender("ada@example.com")).toBe("•••.com");
    expect(maskSender("@ada_lovelace")).toBe("•••lace");
    expect(maskSender("+44 20 7946 0958")).toBe("•••0958");
    expect(maskSender("•••0958")).toBe("•••0958");
  });
});
