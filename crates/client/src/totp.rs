//! TOTP setup: the `otpauth://` URI drawn as a QR code here, on this machine (the secret
//! never goes to a QR web service or anywhere but the server it came from), and the
//! secret in groups of four for typing into an authenticator app by hand.

use latchkey_proto::{Secret, TotpEnrollment};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use serde::{Deserialize, Serialize};

use crate::error::ClientError;

/// What the TOTP setup screen shows. The SVG and the grouped key contain the secret, so
/// both are [`Secret`]s: redacted in `Debug`, plain in the JSON the UI receives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpSetup {
    /// An SVG document of the QR code of the `otpauth://` URI.
    pub qr_svg: Secret,
    /// The base32 secret in groups of four: `JBSW Y3DP EHPK 3PXP`.
    pub secret_groups: Secret,
    pub issuer: String,
    pub account: String,
    pub algorithm: String,
    pub digits: u32,
    pub period: u64,
}

impl TotpSetup {
    /// Checks that the URI is a TOTP URI carrying the same secret, and renders it.
    pub fn from_enrollment(e: &TotpEnrollment) -> Result<Self, ClientError> {
        let uri = url::Url::parse(e.otpauth_uri.expose())
            .map_err(|_| ClientError::UnexpectedResponse { status: 200 })?;
        let secret_in_uri = uri
            .query_pairs()
            .find(|(k, _)| k == "secret")
            .map(|(_, v)| v.into_owned());
        if uri.scheme() != "otpauth"
            || uri.host_str() != Some("totp")
            || secret_in_uri.as_deref() != Some(e.secret.expose())
        {
            return Err(ClientError::UnexpectedResponse { status: 200 });
        }
        Ok(Self {
            qr_svg: Secret::new(qr_svg(e.otpauth_uri.expose())?),
            secret_groups: Secret::new(group(e.secret.expose())),
            issuer: e.issuer.clone(),
            account: e.account.clone(),
            algorithm: e.algorithm.clone(),
            digits: e.digits,
            period: e.period,
        })
    }
}

/// The QR code of `data` as a standalone SVG document (error correction M, quiet zone).
pub fn qr_svg(data: &str) -> Result<String, ClientError> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|_| ClientError::InvalidInput("otpauth_uri"))?;
    Ok(code
        .render::<svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build())
}

/// `JBSWY3DPEHPK3PXP` → `JBSW Y3DP EHPK 3PXP`.
pub fn group(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().filter(|c| !c.is_whitespace()).collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enrollment(uri: &str) -> TotpEnrollment {
        TotpEnrollment {
            secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into(),
            otpauth_uri: uri.into(),
            issuer: "Corp".into(),
            account: "a@b.c".into(),
            algorithm: "SHA1".into(),
            digits: 6,
            period: 30,
        }
    }

    #[test]
    fn renders_locally_and_groups() {
        let s = TotpSetup::from_enrollment(&enrollment(
            "otpauth://totp/Corp:a%40b.c?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Corp",
        ))
        .unwrap();
        assert!(s.qr_svg.expose().starts_with("<?xml"));
        assert!(s.qr_svg.expose().contains("<svg"));
        assert_eq!(
            s.secret_groups.expose(),
            "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP"
        );
        assert!(!format!("{s:?}").contains("JBSW"));
    }

    #[test]
    fn refuses_a_uri_with_another_secret() {
        for uri in [
            "otpauth://totp/Corp:a?secret=AAAAAAAAAAAAAAAA",
            "otpauth://hotp/Corp:a?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
            "https://evil.example/?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        ] {
            assert!(
                TotpSetup::from_enrollment(&enrollment(uri)).is_err(),
                "{uri}"
            );
        }
    }
}
