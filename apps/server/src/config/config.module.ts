import { DynamicModule, Global, Module } from '@nestjs/common';
import { ServerConfig } from './server-config';
import type { Settings } from './settings';

@Global()
@Module({})
export class ConfigModule {
  static forRoot(settings: Settings): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: ServerConfig, useValue: new ServerConfig(settings) }],
      exports: [ServerConfig],
    };
  }
}
