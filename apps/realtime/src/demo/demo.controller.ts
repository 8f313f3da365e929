import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { DemoAssets, type LoadedAsset } from './demo-assets.js';

/**
 * The page's own policy: scripts, styles and images only from this origin, sockets only back to it,
 * no framing. The URL may carry a token (`?token=`), so no referrer leaves the page.
 */
const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

/**
 * The live demo page (`GET /`) and its files (`GET /demo/<name>`): the page itself, its script and
 * styles, and socket.io-client's browser bundle from node_modules. Nothing to build, nothing from a CDN.
 */
@Controller()
export class DemoController {
  constructor(private readonly assets: DemoAssets) {}

  @Get()
  async page(@Res() res: Response): Promise<void> {
    send(res, await this.assets.readPage(), PAGE_HEADERS);
  }

  /** Only the names on {@link DemoAssets}' list; anything else (`..%2F…` included) is a 404. */
  @Get('demo/:name')
  async asset(@Param('name') name: string, @Res() res: Response): Promise<void> {
    send(res, await this.assets.read(name));
  }
}

function send(res: Response, asset: LoadedAsset | undefined, headers: Record<string, string> = {}): void {
  if (asset === undefined) throw new NotFoundException();
  res
    .status(200)
    .set({
      'Content-Type': asset.contentType,
      // The page changes with the sources; a browser revalidates instead of running a stale script.
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      ...headers,
    })
    .send(asset.body);
}
