import { describe, expect, it } from "vitest";
import { mark, startupMarks } from "./startup";

describe("start-up marks", () => {
  it("starts at the navigation, keeps marks in order, and stops after they are taken", () => {
    mark("script");
    mark("painted");
    const marks = startupMarks();
    expect(marks.map(([name]) => name)).toEqual(["navigation", "script", "painted"]);
    expect(marks[0]?.[1]).toBe(performance.timeOrigin);
    const times = marks.map(([, at]) => at);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    mark("later");
    expect(startupMarks().map(([name]) => name)).not.toContain("later");
  });
});
