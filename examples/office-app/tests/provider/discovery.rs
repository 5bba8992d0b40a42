//! The discovery document as the library reads it (its `issuer` must be the one asked
//! for): where the endpoints are, and what the provider says it supports.

use latchkey_testkit::{on_both, Backend};
use openidconnect::core::{CoreJwsSigningAlgorithm, CoreResponseType};

use super::server::Provider;

on_both!(discovery_lists_what_the_provider_does);

async fn discovery_lists_what_the_provider_does(backend: Backend) {
    let Some(provider) = Provider::start(backend).await else {
        return;
    };
    let m = provider.discover().await;
    let under = format!("{}/oidc/", provider.issuer);
    let extra = m.additional_metadata();
    for endpoint in [
        m.authorization_endpoint().as_str(),
        m.token_endpoint().expect("token_endpoint").as_str(),
        m.userinfo_endpoint().expect("userinfo_endpoint").as_str(),
        m.jwks_uri().as_str(),
        &extra.end_session_endpoint,
        &extra.revocation_endpoint,
        &extra.introspection_endpoint,
    ] {
        assert!(
            endpoint.starts_with(&under),
            "{endpoint} is not under {under}"
        );
    }
    assert!(!m.jwks().keys().is_empty(), "the JWKS has no key");
    let scopes: Vec<&str> = m
        .scopes_supported()
        .expect("scopes_supported")
        .iter()
        .map(|s| s.as_str())
        .collect();
    for scope in ["openid", "profile", "email", "phone", "offline_access"] {
        assert!(scopes.contains(&scope), "scope {scope} missing: {scopes:?}");
    }
    let response_types: Vec<&Vec<CoreResponseType>> =
        m.response_types_supported().iter().map(|r| &**r).collect();
    assert_eq!(
        response_types,
        [&vec![CoreResponseType::Code]],
        "code flow only"
    );
    assert!(
        extra
            .code_challenge_methods_supported
            .iter()
            .any(|m| m == "S256"),
        "{:?}",
        extra.code_challenge_methods_supported
    );
    assert!(extra.authorization_response_iss_parameter_supported);
    let algs = m.id_token_signing_alg_values_supported();
    assert!(
        algs.contains(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256),
        "{algs:?}"
    );
    let auth: Vec<String> = m
        .token_endpoint_auth_methods_supported()
        .expect("token_endpoint_auth_methods_supported")
        .iter()
        .map(|a| a.as_ref().to_owned())
        .collect();
    for method in ["client_secret_basic", "client_secret_post", "none"] {
        assert!(
            auth.iter().any(|a| a == method),
            "{method} missing: {auth:?}"
        );
    }
}
