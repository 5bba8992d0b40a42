export type AccountSummary = { display_name: string, email: string | null, phone: string | null, username: string | null, organisation: string | null, mfa_enabled: boolean, };
