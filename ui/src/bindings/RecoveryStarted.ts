export type RecoveryStarted = { resend_after: number, expires_in: number, };
