import { createServer, connect, type Server, type Socket } from 'node:net';

interface Link {
  client: Socket;
  upstream: Socket | undefined;
}

/**
 * A TCP proxy the fault tests control: put it between the service and Redis or RabbitMQ, then
 * `cut()` (drop every connection and refuse new ones), `stall()` (connections stay open but no byte
 * moves: a hung peer) and `restore()` mid-load. `retarget()` sends new connections elsewhere, as a
 * load balancer does when an instance leaves.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly links = new Set<Link>();
  private state: 'open' | 'cut' | 'stalled' = 'open';
  port = 0;

  constructor(
    private targetHost: string,
    private targetPort: number,
  ) {}

  /**
   * A started proxy in front of the server a URL names, and the same URL pointing at the proxy
   * (credentials, database and path kept), for handing to the service under test.
   */
  static async inFrontOf(rawUrl: string, defaultPort: number): Promise<{ proxy: TcpProxy; url: string }> {
    const url = new URL(rawUrl);
    const proxy = await new TcpProxy(url.hostname, Number(url.port || defaultPort)).start();
    url.host = `127.0.0.1:${proxy.port}`;
    return { proxy, url: url.toString() };
  }

  async start(): Promise<this> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this;
  }

  /** Connection drops: existing connections are reset, new ones are refused until restore(). */
  cut(): void {
    this.state = 'cut';
    for (const link of this.links) this.drop(link);
  }

  /**
   * A hung peer: connections stay open (new ones are accepted too) but nothing is forwarded either
   * way until restore(), when everything held back flows on, in order.
   */
  stall(): void {
    this.state = 'stalled';
    for (const link of this.links) {
      link.client.unpipe();
      link.upstream?.unpipe();
      link.client.pause();
      link.upstream?.pause();
    }
  }

  restore(): void {
    const wasStalled = this.state === 'stalled';
    this.state = 'open';
    if (!wasStalled) return;
    for (const link of this.links) {
      if (link.upstream) this.pipe(link);
      else this.connectUpstream(link);
    }
  }

  /** New connections go to this target from now on; open ones keep theirs. */
  retarget(host: string, port: number): void {
    this.targetHost = host;
    this.targetPort = port;
  }

  /** Connections currently carried. */
  get connections(): number {
    return this.links.size;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    if (this.state === 'cut') {
      client.destroy();
      return;
    }
    const link: Link = { client, upstream: undefined };
    this.links.add(link);
    const close = () => this.drop(link);
    client.on('error', close).on('close', close);
    if (this.state === 'stalled') client.pause();
    else this.connectUpstream(link);
  }

  private connectUpstream(link: Link): void {
    const upstream = connect(this.targetPort, this.targetHost);
    link.upstream = upstream;
    const close = () => this.drop(link);
    upstream.on('error', close).on('close', close);
    this.pipe(link);
  }

  private pipe(link: Link): void {
    if (!link.upstream) return;
    link.client.pipe(link.upstream);
    link.upstream.pipe(link.client);
    link.client.resume();
    link.upstream.resume();
  }

  private drop(link: Link): void {
    link.client.destroy();
    link.upstream?.destroy();
    this.links.delete(link);
  }
}
