// Which function renders which screen.
import type { Ctx } from "../context";
import type { ScreenName, ViewOf } from "../views";
import { accountScreen } from "./account";
import { accountPasswordScreen } from "./accountPassword";
import { approvalResultScreen, approvalScreen } from "./approval";
import { forcedChangeScreen } from "./forcedChange";
import { deviceCodeScreen } from "./deviceCode";
import { resetStartScreen } from "./resetStart";
import { loadingScreen } from "./loading";
import { lockedScreen } from "./locked";
import { maintenanceScreen } from "./maintenance";
import { offerTotpScreen } from "./offerTotp";
import { resetCodeScreen } from "./resetCode";
import { recoveryCodesScreen } from "./recoveryCodes";
import { regenerateCodesScreen } from "./regenerateCodes";
import { resetLinkScreen } from "./resetLink";
import { resetPasswordScreen } from "./resetPassword";
import { secondFactorScreen } from "./secondFactor";
import { serverSetupScreen } from "./serverSetup";
import { signInScreen } from "./signIn";
import { startupErrorScreen } from "./startupError";
import { totpDisableScreen } from "./totpDisable";
import { totpEnableScreen } from "./totpEnable";
import { totpSetupScreen } from "./totpSetup";
import { updateRequiredScreen } from "./updateRequired";

export const screens: { [S in ScreenName]: (ctx: Ctx, view: ViewOf<S>) => HTMLElement } = {
  loading: loadingScreen,
  startup_error: startupErrorScreen,
  server_setup: serverSetupScreen,
  sign_in: signInScreen,
  second_factor: secondFactorScreen,
  device_code: deviceCodeScreen,
  forced_change: forcedChangeScreen,
  offer_totp: offerTotpScreen,
  totp_setup: totpSetupScreen,
  recovery_codes: recoveryCodesScreen,
  reset_start: resetStartScreen,
  reset_code: resetCodeScreen,
  reset_password: resetPasswordScreen,
  reset_link: resetLinkScreen,
  locked: lockedScreen,
  maintenance: maintenanceScreen,
  update_required: updateRequiredScreen,
  approval: approvalScreen,
  approval_result: approvalResultScreen,
  account: accountScreen,
  account_password: accountPasswordScreen,
  totp_disable: totpDisableScreen,
  totp_enable: totpEnableScreen,
  regenerate_codes: regenerateCodesScreen,
};
