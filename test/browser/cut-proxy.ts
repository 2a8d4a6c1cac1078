import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";

/**
 * A TCP proxy in front of the test server that can cut the browser off:
 * `cut()` drops every open connection (a stream breaks mid-read, as on a
 * lost network) and refuses new ones until `restore()`. Chromium's offline
 * emulation leaves an open fetch stream running, so it cannot test this.
 */
export class CutProxy {
  readonly #sockets = new Set<Socket>();
  #down = false;
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(upstreamPort: number): Promise<CutProxy> {
    let proxy!: CutProxy;
    const server = createServer((client) => proxy.#accept(client, upstreamPort));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    proxy = new CutProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  cut(): void {
    this.#down = true;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  restore(): void {
    this.#down = false;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  #accept(client: Socket, upstreamPort: number): void {
    if (this.#down) return void client.destroy();
    const upstream = connect(upstreamPort, "127.0.0.1");
    for (const [a, b] of [[client, upstream], [upstream, client]]) {
      this.#sockets.add(a);
      a.pipe(b);
      a.on("error", () => b.destroy());
      a.on("close", () => {
        this.#sockets.delete(a);
        b.destroy();
      });
    }
  }
}
