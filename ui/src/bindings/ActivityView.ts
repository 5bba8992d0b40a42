export type ActivityView = { at: string, kind: string, device_name: string | null, address: string | null, result: string | null, };
