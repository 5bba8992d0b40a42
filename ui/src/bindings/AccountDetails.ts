import type { AccountSummary } from "./AccountSummary";
import type { ActivityView } from "./ActivityView";
import type { SessionView } from "./SessionView";

export type AccountDetails = { summary: AccountSummary, password_expires_at: string | null, recovery_codes_left: number | null, sessions: Array<SessionView>, activity: Array<ActivityView>, };
