export type SessionView = { id: string, device_name: string, platform: string, address: string | null, created_at: string, last_used_at: string, current: boolean, };
