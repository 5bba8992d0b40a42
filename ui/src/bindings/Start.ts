import type { ServerInfo } from "./ServerInfo";
import type { Step } from "./Step";

export type Start = { server: ServerInfo | null, step: Step, };
