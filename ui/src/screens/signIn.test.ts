// Sign in: fields and their autocomplete tokens, the command and its arguments, errors
// with focus, the redirects (locked, maintenance), and the links out.
import { afterEach, describe, expect, it } from "vitest";
import { ACCOUNT, SERVER, byAutocomplete, byTestId, fail, flush, ipc, reset, screenName, showView, submit, type } from "../test/harness";

afterEach(reset);

const signInView = { screen: "sign_in" as const, identifier: null, remember: true, notice: null };

describe("sign in", () => {
  it("shows labelled fields with standard autocomplete tokens, support and server", () => {
    ipc({});
    const { root } = showView(signInView);
    expect(screenName(root)).toBe("sign_in");
    const id = byAutocomplete(root, "username");
    const password = byAutocomplete(root, "current-password");
    expect(password.type).toBe("password");
    for (const input of root.querySelectorAll("input")) {
      expect(root.querySelector(`label[for="${input.id}"]`), input.name).not.toBeNull();
    }
    expect(document.activeElement).toBe(id);
    expect(byTestId(root, "support").textContent).toContain("it@corp.example");
    expect(root.textContent).toContain("https://login.corp.example");
    expect(root.querySelector("[data-testid=change-server]")).not.toBeNull();
    expect((root.querySelector("input[name=remember]") as HTMLInputElement).checked).toBe(true);
  });

  it("hides change server when IT provisioned it, and focuses the password when the account is remembered", () => {
    ipc({});
    const { root } = showView({ ...signInView, identifier: "zwei" }, "en", { ...SERVER, provisioned: true });
    expect(root.querySelector("[data-testid=change-server]")).toBeNull();
    expect(byAutocomplete(root, "username").value).toBe("zwei");
    expect(document.activeElement).toBe(byAutocomplete(root, "current-password"));
  });

  it("calls sign_in with identifier, password and remember, clears the password, and shows the account", async () => {
    const calls = ipc({
      sign_in: { step: "signed_in", account: ACCOUNT, offline: false, remembered: false, keychain_available: true },
      account_details: fail("no_network"),
    });
    const { root } = showView(signInView);
    type(byAutocomplete(root, "username"), " zwei ");
    const password = byAutocomplete(root, "current-password");
    type(password, "correct horse battery");
    (root.querySelector("input[name=remember]") as HTMLInputElement).click();
    submit(password);
    expect(password.value).toBe("");
    await flush();
    expect(calls[0]).toEqual({ cmd: "sign_in", args: { identifier: "zwei", password: "correct horse battery", remember: false } });
    expect(screenName(root)).toBe("account");
  });

  it("shows a translated error with advice, focused, after invalid credentials", async () => {
    ipc({ sign_in: fail("invalid_credentials") });
    const { root } = showView(signInView, "zh-CN");
    type(byAutocomplete(root, "username"), "zwei");
    type(byAutocomplete(root, "current-password"), "wrong");
    submit(byTestId(root, "sign-in-submit"));
    await flush();
    const error = byTestId(root, "error");
    expect(error.hidden).toBe(false);
    expect(error.getAttribute("role")).toBe("alert");
    expect(error.textContent).toContain("账号或密码不正确");
    expect(error.textContent).toContain("忘记密码");
    expect(document.activeElement).toBe(error);
    expect(byAutocomplete(root, "current-password").value).toBe("");
  });

  it("says how many attempts are left after a wrong password offline", async () => {
    ipc({ sign_in: fail("invalid_credentials", { attempts_left: 2 }) });
    const { root } = showView(signInView);
    type(byAutocomplete(root, "username"), "zwei");
    type(byAutocomplete(root, "current-password"), "wrong");
    submit(byTestId(root, "sign-in-submit"));
    await flush();
    expect(byTestId(root, "attempts-left").textContent).toBe("2 attempts left before you need a connection to the server.");

    ipc({ sign_in: fail("invalid_credentials", { attempts_left: 1 }) });
    const zh = showView(signInView, "zh-CN").root;
    type(byAutocomplete(zh, "username"), "zwei");
    type(byAutocomplete(zh, "current-password"), "wrong");
    submit(byTestId(zh, "sign-in-submit"));
    await flush();
    expect(byTestId(zh, "attempts-left").textContent).toContain("还可尝试 1 次");

    ipc({ sign_in: fail("invalid_credentials") });
    const online = showView(signInView).root;
    type(byAutocomplete(online, "username"), "zwei");
    type(byAutocomplete(online, "current-password"), "wrong");
    submit(byTestId(online, "sign-in-submit"));
    await flush();
    expect(online.querySelector("[data-testid=attempts-left]")).toBeNull();
  });

  it("shows offline_attempts_exhausted with the advice to sign in online", async () => {
    ipc({ sign_in: fail("offline_attempts_exhausted") });
    const { root } = showView(signInView);
    type(byAutocomplete(root, "username"), "zwei");
    type(byAutocomplete(root, "current-password"), "wrong");
    submit(byTestId(root, "sign-in-submit"));
    await flush();
    const error = byTestId(root, "error");
    expect(error.textContent).toContain("Too many wrong passwords while offline.");
    expect(error.textContent).toContain("sign in online once");
  });

  it("asks for the identifier before calling anything", async () => {
    const calls = ipc({});
    const { root } = showView(signInView);
    submit(byTestId(root, "sign-in-submit"));
    await flush();
    expect(calls).toEqual([]);
    expect(byTestId(root, "error").textContent).toContain("Enter your e-mail, phone or username");
    expect(byTestId(root, "error").dataset.code).toBe("identifier_required");
  });

  it("disables the submit button while the command runs (no double submit)", async () => {
    let release: (value: unknown) => void = () => {};
    const calls = ipc({ sign_in: () => new Promise((resolve) => (release = resolve)) });
    const { root } = showView(signInView);
    type(byAutocomplete(root, "username"), "zwei");
    type(byAutocomplete(root, "current-password"), "pw-one");
    const button = byTestId<HTMLButtonElement>(root, "sign-in-submit");
    submit(button);
    await flush();
    expect(button.disabled).toBe(true);
    expect(button.classList.contains("busy")).toBe(true);
    submit(button);
    await flush();
    expect(calls.filter((c) => c.cmd === "sign_in")).toHaveLength(1);
    release({ step: "second_factor", methods: ["totp"] });
    await flush();
    expect(screenName(root)).toBe("second_factor");
  });

  it("goes to the locked screen on account_locked and to maintenance on maintenance", async () => {
    ipc({ sign_in: fail("account_locked", { retry_after: 90 }) });
    const { root } = showView(signInView);
    type(byAutocomplete(root, "username"), "zwei");
    type(byAutocomplete(root, "current-password"), "pw");
    submit(byTestId(root, "sign-in-submit"));
    await flush();
    expect(screenName(root)).toBe("locked");

    ipc({ sign_in: fail("maintenance", { message: "Upgrade tonight", until: "2030-01-01T02:00:00Z" }) });
    const second = showView(signInView).root;
    type(byAutocomplete(second, "username"), "zwei");
    type(byAutocomplete(second, "current-password"), "pw");
    submit(byTestId(second, "sign-in-submit"));
    await flush();
    expect(screenName(second)).toBe("maintenance");
    expect(byTestId(second, "maintenance-message").textContent).toBe("Upgrade tonight");
  });

  it("says the server is busy (not that the person tried too often), in both languages", async () => {
    ipc({ sign_in: fail("server_busy", { retry_after: 2 }) });
    const { root } = showView(signInView);
    type(byAutocomplete(root, "username"), "zwei");
    type(byAutocomplete(root, "current-password"), "pw");
    submit(byTestId(root, "sign-in-submit"));
    await flush();
    expect(screenName(root)).toBe("sign_in");
    const error = byTestId(root, "error");
    expect(error.textContent).toContain("The server is busy right now");
    expect(error.textContent).not.toContain("Too many attempts");
    expect(document.activeElement).toBe(error);

    const zh = showView(signInView, "zh-CN").root;
    type(byAutocomplete(zh, "username"), "zwei");
    type(byAutocomplete(zh, "current-password"), "pw");
    submit(byTestId(zh, "sign-in-submit"));
    await flush();
    expect(byTestId(zh, "error").textContent).toContain("服务器当前繁忙");
  });

  it("toggles the password's visibility and warns about Caps Lock", () => {
    ipc({});
    const { root } = showView(signInView);
    const password = byAutocomplete(root, "current-password");
    const toggle = byTestId<HTMLButtonElement>(root, "password-reveal");
    toggle.click();
    expect(password.type).toBe("text");
    expect(toggle.getAttribute("aria-pressed")).toBe("true");
    toggle.click();
    expect(password.type).toBe("password");

    const caps = root.querySelector<HTMLElement>(".caps-lock");
    const event = new KeyboardEvent("keydown", { key: "A" });
    Object.defineProperty(event, "getModifierState", { value: (key: string) => key === "CapsLock" });
    password.dispatchEvent(event);
    expect(caps?.hidden).toBe(false);
    password.dispatchEvent(new KeyboardEvent("keyup", { key: "a" }));
    expect(caps?.hidden).toBe(true);
  });

  it("opens forgot password with the typed identifier, and server setup from change server", () => {
    ipc({});
    const { root } = showView(signInView);
    type(byAutocomplete(root, "username"), "zwei");
    byTestId(root, "reset-start-link").click();
    expect(screenName(root)).toBe("reset_start");
    expect(byAutocomplete(root, "username").value).toBe("zwei");

    const other = showView(signInView).root;
    byTestId(other, "change-server").click();
    expect(screenName(other)).toBe("server_setup");
    expect(byTestId(other, "server-cancel")).toBeTruthy();
  });
});
