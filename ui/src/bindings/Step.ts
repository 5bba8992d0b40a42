import type { AccountSummary } from "./AccountSummary";

export type Step = { "step": "server_setup", suggested_url: string | null, } | { "step": "sign_in", identifier: string | null, remember: boolean, } | { "step": "second_factor", methods: Array<string>, } | { "step": "device_code", destination: string, channel: string, expires_in: number, } | { "step": "change_password", reason: string, } | { "step": "offer_totp" } | { "step": "signed_in", account: AccountSummary, offline: boolean, remembered: boolean, keychain_available: boolean, };
