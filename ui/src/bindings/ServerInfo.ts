import type { Support } from "./Support";

export type ServerInfo = { url: string, server_name: string, support: Support, min_length: number, max_length: number, recovery_channels: Array<string>, offline_days: number, provisioned: boolean, };
