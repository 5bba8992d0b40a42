export type Strength = { score: number, accepted: boolean, too_long: boolean, reasons: Array<string>, suggestions: Array<string>, };
