// The account page's lists: devices and sessions (with "sign out" for the others) and
// recent activity. Codes from the server are translated, unknown ones get a generic text.
import type { ActivityView } from "../bindings/ActivityView";
import type { SessionView } from "../bindings/SessionView";
import { h } from "../dom";
import { formatDateTime, t, tCode } from "../i18n";

export function sessionList(sessions: readonly SessionView[], onRevoke: (session: SessionView, button: HTMLButtonElement) => void, allowRevoke: boolean): HTMLElement {
  if (sessions.length === 0) return h("p", { class: "muted" }, t("account.sessions_none"));
  const list = h("ul", { class: "rows", "data-testid": "sessions" });
  for (const session of sessions) {
    const details = [session.platform, session.address].filter((part): part is string => Boolean(part)).join(" · ");
    const title = h("p", { class: "row-title" }, session.device_name);
    if (session.current) title.append(" ", h("span", { class: "badge" }, t("account.this_device")));
    let revoke: HTMLButtonElement | null = null;
    if (!session.current) {
      revoke = h(
        "button",
        {
          type: "button",
          class: "button secondary small",
          "data-testid": `revoke-${session.id}`,
          "aria-label": t("account.revoke_label", { device: session.device_name }),
          disabled: !allowRevoke,
        },
        t("account.revoke"),
      );
      const button = revoke;
      revoke.addEventListener("click", () => onRevoke(session, button));
    }
    list.append(
      h(
        "li",
        { class: "row", "data-session": session.id },
        h(
          "div",
          { class: "row-main" },
          title,
          details === "" ? null : h("p", { class: "muted" }, details),
          h("p", { class: "muted small" }, t("account.session_times", { last: formatDateTime(session.last_used_at), created: formatDateTime(session.created_at) })),
        ),
        revoke,
      ),
    );
  }
  return list;
}

export function activityList(activity: readonly ActivityView[]): HTMLElement {
  if (activity.length === 0) return h("p", { class: "muted" }, t("account.activity_none"));
  const list = h("ul", { class: "rows", "data-testid": "activity" });
  for (const item of activity) {
    const where = [item.device_name, item.address].filter((part): part is string => Boolean(part)).join(" · ");
    const failed = item.kind.endsWith("_failed") || (item.result !== null && item.result !== "ok" && item.result !== "success");
    const when = h("time", { datetime: item.at }, formatDateTime(item.at));
    const meta = h("p", { class: "muted small" }, when, where === "" ? "" : ` · ${where}`);
    list.append(
      h(
        "li",
        { class: failed ? "row activity failed" : "row activity" },
        h(
          "div",
          { class: "row-main" },
          h("p", { class: "row-title" }, tCode("activity.", item.kind, "activity.other")),
          meta,
          item.result === null ? null : h("p", { class: "muted small" }, tCode("activity.result.", item.result, "activity.result.other")),
        ),
      ),
    );
  }
  return list;
}
