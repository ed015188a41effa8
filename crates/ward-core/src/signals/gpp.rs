//! The IAB Global Privacy Platform string (GPP v1): the header (type 3, version 1, the
//! section ids as a Fibonacci range) and the sections ward writes, `tcfeuv2` (id 2: the TC
//! string itself) and `usnat` (id 7: the MSPA US National section, version 2, with its GPC
//! sub-section), joined by `~`.
//!
//! Padding follows the GPP specification: every header and section segment is zero-padded to
//! a whole character. Not for the TC string's own encoding ([`super::tcf`]).

use super::bits::{BitReader, BitWriter, DecodeError, Padding};

/// The `tcfeuv2` section id.
pub const SECTION_TCFEUV2: u8 = 2;
/// The `usnat` section id.
pub const SECTION_USNAT: u8 = 7;

/// A `usnat` value: 0 not applicable, 1 and 2 as each field defines them (notice given /
/// opted out / no consent = 1; not given / did not opt out / consent = 2).
pub type Choice = u8;

/// The MSPA US National section, version 2: every field of its core segment, and the GPC
/// sub-section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct UsNat {
    /// `SharingNotice`.
    pub sharing_notice: Choice,
    /// `SaleOptOutNotice`.
    pub sale_opt_out_notice: Choice,
    /// `SharingOptOutNotice`.
    pub sharing_opt_out_notice: Choice,
    /// `TargetedAdvertisingOptOutNotice`.
    pub targeted_advertising_opt_out_notice: Choice,
    /// `SensitiveDataProcessingOptOutNotice`.
    pub sensitive_data_processing_opt_out_notice: Choice,
    /// `SensitiveDataLimitUseNotice`.
    pub sensitive_data_limit_use_notice: Choice,
    /// `SaleOptOut`.
    pub sale_opt_out: Choice,
    /// `SharingOptOut`.
    pub sharing_opt_out: Choice,
    /// `TargetedAdvertisingOptOut`.
    pub targeted_advertising_opt_out: Choice,
    /// `SensitiveDataProcessing`: sixteen categories (index 7 is precise geolocation).
    pub sensitive_data_processing: [Choice; 16],
    /// `KnownChildSensitiveDataConsents`: ages 13 to 16, under 13, 16 to 17.
    pub known_child_sensitive_data_consents: [Choice; 3],
    /// `PersonalDataConsents`.
    pub personal_data_consents: Choice,
    /// `MspaCoveredTransaction` (1 yes, 2 no).
    pub mspa_covered_transaction: Choice,
    /// `MspaOptOutOptionMode`.
    pub mspa_opt_out_option_mode: Choice,
    /// `MspaServiceProviderMode`.
    pub mspa_service_provider_mode: Choice,
    /// The GPC sub-section, when written.
    pub gpc: Option<bool>,
}

impl UsNat {
    /// The section as text: the core segment and, when `gpc` is set, the GPC sub-section.
    pub fn encode_into(&self, out: &mut String) {
        let mut core = BitWriter::with_capacity(72);
        core.int(2, 6);
        for value in [
            self.sharing_notice,
            self.sale_opt_out_notice,
            self.sharing_opt_out_notice,
            self.targeted_advertising_opt_out_notice,
            self.sensitive_data_processing_opt_out_notice,
            self.sensitive_data_limit_use_notice,
            self.sale_opt_out,
            self.sharing_opt_out,
            self.targeted_advertising_opt_out,
        ]
        .into_iter()
        .chain(self.sensitive_data_processing)
        .chain(self.known_child_sensitive_data_consents)
        .chain([
            self.personal_data_consents,
            self.mspa_covered_transaction,
            self.mspa_opt_out_option_mode,
            self.mspa_service_provider_mode,
        ]) {
            core.int(u64::from(value), 2);
        }
        core.write_base64(Padding::Character, out);
        if let Some(gpc) = self.gpc {
            let mut segment = BitWriter::with_capacity(3);
            segment.int(1, 2);
            segment.bit(gpc);
            out.push('.');
            segment.write_base64(Padding::Character, out);
        }
    }

    /// Reads a version-2 `usnat` section.
    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        let mut segments = text.split('.');
        let mut core = BitReader::new(segments.next().unwrap_or(""))?;
        let version = core.int(6, "Version")?;
        if version != 2 {
            return Err(DecodeError::BadValue {
                field: "Version",
                value: version,
            });
        }
        let mut read = |field| core.int(2, field).map(|v| v as u8);
        let mut section = Self {
            sharing_notice: read("SharingNotice")?,
            sale_opt_out_notice: read("SaleOptOutNotice")?,
            sharing_opt_out_notice: read("SharingOptOutNotice")?,
            targeted_advertising_opt_out_notice: read("TargetedAdvertisingOptOutNotice")?,
            sensitive_data_processing_opt_out_notice: read("SensitiveDataProcessingOptOutNotice")?,
            sensitive_data_limit_use_notice: read("SensitiveDataLimitUseNotice")?,
            sale_opt_out: read("SaleOptOut")?,
            sharing_opt_out: read("SharingOptOut")?,
            targeted_advertising_opt_out: read("TargetedAdvertisingOptOut")?,
            ..Self::default()
        };
        for value in &mut section.sensitive_data_processing {
            *value = read("SensitiveDataProcessing")?;
        }
        for value in &mut section.known_child_sensitive_data_consents {
            *value = read("KnownChildSensitiveDataConsents")?;
        }
        section.personal_data_consents = read("PersonalDataConsents")?;
        section.mspa_covered_transaction = read("MspaCoveredTransaction")?;
        section.mspa_opt_out_option_mode = read("MspaOptOutOptionMode")?;
        section.mspa_service_provider_mode = read("MspaServiceProviderMode")?;
        for segment_text in segments {
            let mut segment = BitReader::new(segment_text)?;
            match segment.int(2, "SubsectionType")? {
                1 => section.gpc = Some(segment.bit("Gpc")?),
                value => {
                    return Err(DecodeError::BadValue {
                        field: "SubsectionType",
                        value,
                    });
                }
            }
        }
        Ok(section)
    }
}

/// Writes the GPP header for `section_ids` (ascending, no duplicates) to `out`.
pub fn encode_header(section_ids: &[u8], out: &mut String) {
    let mut header = BitWriter::with_capacity(48);
    header.int(3, 6);
    header.int(1, 6);
    const MAX_RUNS: usize = 16;
    let mut runs: [(u8, u8); MAX_RUNS] = [(0, 0); MAX_RUNS];
    let mut n_runs = 0;
    for id in section_ids {
        match runs[..n_runs].last_mut() {
            Some((_, end)) if end.checked_add(1) == Some(*id) => *end = *id,
            _ if n_runs < MAX_RUNS => {
                runs[n_runs] = (*id, *id);
                n_runs += 1;
            }
            _ => {}
        }
    }
    header.int(n_runs as u64, 12);
    let mut last = 0u64;
    for (start, end) in &runs[..n_runs] {
        header.bit(start != end);
        header.fibonacci(u64::from(*start) - last);
        if start != end {
            header.fibonacci(u64::from(end - start));
        }
        last = u64::from(*end);
    }
    header.write_base64(Padding::Character, out);
}

/// Reads a GPP string's header: the section ids, in string order.
pub fn decode_header(text: &str) -> Result<Vec<u16>, DecodeError> {
    let mut reader = BitReader::new(text)?;
    let kind = reader.int(6, "Type")?;
    if kind != 3 {
        return Err(DecodeError::BadValue {
            field: "Type",
            value: kind,
        });
    }
    let version = reader.int(6, "Version")?;
    if version != 1 {
        return Err(DecodeError::BadValue {
            field: "Version",
            value: version,
        });
    }
    let n_entries = reader.int(12, "Sections")?;
    let mut ids = Vec::new();
    let mut last = 0u64;
    for _ in 0..n_entries {
        let is_group = reader.bit("Sections")?;
        let start = last + reader.fibonacci("Sections")?;
        let end = if is_group {
            start + reader.fibonacci("Sections")?
        } else {
            start
        };
        if end > u64::from(u16::MAX) {
            return Err(DecodeError::BadValue {
                field: "Sections",
                value: end,
            });
        }
        ids.extend((start..=end).map(|id| id as u16));
        last = end;
    }
    Ok(ids)
}

/// Splits a GPP string into its section ids and section texts, checking the header names as
/// many sections as follow it.
pub fn split(text: &str) -> Result<Vec<(u16, &str)>, DecodeError> {
    let mut parts = text.split('~');
    let ids = decode_header(parts.next().unwrap_or(""))?;
    let sections: Vec<&str> = parts.collect();
    if sections.len() != ids.len() {
        return Err(DecodeError::Structure(
            "the header names a different number of sections than follow it",
        ));
    }
    Ok(ids.into_iter().zip(sections).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specifications_header_examples_are_written_exactly() {
        for (ids, header) in [
            (&[2][..], "DBABM"),
            (&[2, 6], "DBACNY"),
            (&[5, 6], "DBABjw"),
        ] {
            let mut out = String::new();
            encode_header(ids, &mut out);
            assert_eq!(out, header);
            let read: Vec<u16> = decode_header(header).unwrap();
            assert_eq!(
                read,
                ids.iter().map(|id| u16::from(*id)).collect::<Vec<_>>()
            );
        }
    }
}
