import { Module } from '@nestjs/common';
import { DemoAssets } from './demo-assets.js';
import { DemoController } from './demo.controller.js';

/** `GET /`: the live demo page (apps/realtime/public) and socket.io-client's browser bundle. */
@Module({
  controllers: [DemoController],
  providers: [{ provide: DemoAssets, useFactory: () => new DemoAssets() }],
})
export class DemoModule {}
