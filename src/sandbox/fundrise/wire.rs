//! The Fundrise emulator's JSON, key for key as the OpenAPI spec names it
//! (`OfferingResponse`, `DocumentResponse`, `AcknowledgmentResponse`,
//! `OAuth2AccessTokenResponse`, `TransactionResponse`, `FundriseConnectError`), plus the
//! admin ledger. Money and ids are strings, as the spec types them.

use super::error::FrError;
use serde::Serialize;
use serde_json::{json, Value};

/// `OfferingResponse`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Offering {
    /// `null` when the fund has no published price (the spec allows it).
    pub current_price: Option<Price>,
    pub offering_id: String,
    pub offering_name: &'static str,
    /// `OPEN` or `CLOSED`.
    pub status: &'static str,
    pub asset_class: AssetClass,
    pub minimum_investment_amount: String,
    pub maximum_investment_amount: String,
    pub primary_objective: &'static str,
    pub current_distribution_rate: String,
}

/// `PriceResponse`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Price {
    pub price: String,
    pub price_date: String,
}

/// `AssetClass`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AssetClass {
    pub asset_class_type: &'static str,
    pub asset_class_label: &'static str,
}

/// `DocumentResponse`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Document {
    pub document_id: String,
    pub document_name: String,
    pub document_type: &'static str,
    pub document_url: String,
}

/// `AcknowledgmentResponse`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Acknowledgment {
    pub acknowledgment_id: String,
    pub acknowledgment_text: &'static str,
}

/// `OAuth2AccessTokenResponse` (`expiresIn` is an int64 string, as in the spec).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccessToken {
    pub access_token: String,
    pub refresh_token: String,
    pub scope: &'static str,
    pub token_type: &'static str,
    pub expires_in: String,
}

/// `TransactionResponse`, keys in the order of the spec's samples.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Transaction {
    pub transaction_id: String,
    pub transaction_type: &'static str,
    pub description: &'static str,
    pub amount: String,
    pub transaction_date: String,
    pub offerings: Vec<TransactionOffering>,
    pub status: &'static str,
    pub is_cancellable: bool,
    pub debit_credit_memo: &'static str,
}

/// `TransactionOfferingResponse`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TransactionOffering {
    pub offering_id: String,
    pub offering_name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shares: Option<String>,
}

/// One investment executed through the API, as the admin ledger shows it (with the
/// `partnerReferenceId` it was placed under, which the platform's own answers omit).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct LedgerInvestment {
    pub transaction_id: String,
    pub partner_reference_id: String,
    pub offering_id: String,
    pub amount: String,
    pub status: &'static str,
}

/// What the admin ledger reports for Fundrise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Ledger {
    /// Every investment executed, including those whose answer was dropped or mangled.
    pub investments: Vec<LedgerInvestment>,
    /// Investment POSTs received (whatever their fate).
    pub posts: u64,
    /// Investment POSTs refused with a 4xx other than 409 and 429.
    pub rejected: u64,
    /// Investment POSTs answered 409: their `partnerReferenceId` was already used.
    pub duplicates: u64,
    /// Investment POSTs answered 429.
    pub rate_limited: u64,
    /// Investments cancelled.
    pub cancels: u64,
    /// Arrival of each investment POST, in milliseconds since the sandbox started.
    pub post_times_ms: Vec<u64>,
}

/// A `FundriseConnectError` body: `referenceId` always; `code`, `message` and
/// `validationErrors` when the refusal has them.
pub(crate) fn error_body(reference_id: &str, error: &FrError) -> Value {
    let mut body = json!({ "referenceId": reference_id });
    if let Some(code) = error.code() {
        body["code"] = code.into();
    }
    if let Some(message) = error.message() {
        body["message"] = message.into();
    }
    if let Some(fields) = error.validation_errors() {
        body["validationErrors"] = json!(fields);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_have_the_spec_shape() {
        assert_eq!(
            error_body("r-1", &FrError::DocumentIdsMismatch),
            json!({"referenceId": "r-1", "code": "100502",
                "message": "acknowledgedDocumentIds do not match those required"})
        );
        assert_eq!(
            error_body("r-2", &FrError::field("amount", &["must not be null"])),
            json!({"referenceId": "r-2", "validationErrors": {"amount": ["must not be null"]}})
        );
    }

    #[test]
    fn transaction_keys_follow_the_spec() {
        let transaction = Transaction {
            transaction_id: "11".into(),
            transaction_type: "INVESTMENT",
            description: "Investment into Fundrise Offering",
            amount: "10000.00".into(),
            transaction_date: "2023-02-15T00:00:00.000-05:00".into(),
            offerings: vec![TransactionOffering {
                offering_id: "24".into(),
                offering_name: "Flagship Fund",
                share_price: Some("10.04".into()),
                shares: Some("996.015936".into()),
            }],
            status: "PENDING",
            is_cancellable: true,
            debit_credit_memo: "CREDIT",
        };
        let text = serde_json::to_string(&transaction).unwrap();
        assert_eq!(
            text,
            r#"{"transactionId":"11","transactionType":"INVESTMENT","description":"Investment into Fundrise Offering","amount":"10000.00","transactionDate":"2023-02-15T00:00:00.000-05:00","offerings":[{"offeringId":"24","offeringName":"Flagship Fund","sharePrice":"10.04","shares":"996.015936"}],"status":"PENDING","isCancellable":true,"debitCreditMemo":"CREDIT"}"#
        );
    }
}
