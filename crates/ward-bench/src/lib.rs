//! Helpers shared by ward's benchmarks: generated policies of a chosen size.
//!
//! Not a library anyone depends on; it exists so the benchmarks and any load script build the
//! same inputs.

pub mod feed;

use std::fmt::Write;

/// A compliant policy with `n_purposes` purposes (a mix of categories), each with its own
/// setting, data item and cookie, so every rule has work to do.
pub fn generated_policy(n_purposes: usize) -> String {
    let mut out = String::from(
        "[service]\nname = \"Generated\"\nkind = \"video_sharing\"\nmin_age = 8\njurisdictions = [\"GB\", \"DE\"]\nparental_consent_methods = [\"email_plus\"]\n\n",
    );
    let categories = [
        "content_recommendation",
        "contact_suggestions",
        "engagement",
        "analytics",
        "accessibility",
    ];
    for idx in 0..n_purposes {
        let category = categories[idx % categories.len()];
        let _ = write!(
            out,
            "[[purpose]]\nid = \"purpose-{idx}\"\nname = \"Purpose {idx}\"\ncategory = \"{category}\"\n\
             description = \"Uses the videos you watch and like to choose the next videos we show you, number {idx}.\"\n\
             setting = \"setting-{idx}\"\nlawful_basis = \"consent\"\ndata = [\"data-{idx}\"]\n\
             safeguards = [\"age_rating_filter\", \"harm_tag_filter\", \"user_reporting\", \"adult_contact_filter\"]\n\
             triggers = [\"friend_activity\"]\ntcf_purposes = [1]\n\
             explain.6-9 = \"Words for six to nine.\"\nexplain.10-12 = \"Words for ten to twelve.\"\n\
             explain.13-15 = \"Words for thirteen to fifteen.\"\nexplain.16-17 = \"Words for sixteen and seventeen.\"\n\
             ask_adult = \"Not sure? Ask an adult you trust.\"\n\n\
             [[data]]\nid = \"data-{idx}\"\ncollected_for = \"purpose-{idx}\"\n\n\
             [[cookie]]\nname = \"cookie_{idx}\"\npurposes = [\"purpose-{idx}\"]\nessential = false\n\n"
        );
    }
    out
}
