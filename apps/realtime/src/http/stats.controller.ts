import { Controller, Get } from '@nestjs/common';
import type { StatsResponse } from './http-types.js';
import { StatsService } from './stats.service.js';

@Controller()
export class StatsController {
  constructor(private readonly service: StatsService) {}

  @Get('stats')
  stats(): Promise<StatsResponse> {
    return this.service.stats();
  }
}
