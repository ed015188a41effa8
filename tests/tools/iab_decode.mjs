// Decodes ward's strings with IAB Tech Lab's own libraries, for crates/ward/tests/it/tools.rs:
// one JSON object per input line, {"tc": TC string, "gpp": GPP string}; one JSON object per
// output line with the fields each library read (or {"error": message}). No network.
import { createInterface } from 'node:readline';
import { TCString } from '@iabtechlabtcf/core';
import { GppModel } from '@iabgpp/cmpapi';

const ids = (vector) => {
  const out = [];
  vector.forEach((set, id) => { if (set) out.push(id); });
  return out;
};

function tcFields(model) {
  const restrictions = [];
  model.publisherRestrictions.getRestrictions().forEach((restriction) => {
    restrictions.push({
      purpose: restriction.purposeId,
      type: restriction.restrictionType,
      vendors: model.publisherRestrictions.getVendors(restriction).sort((a, b) => a - b),
    });
  });
  return {
    version: model.version,
    created: model.created.getTime(),
    last_updated: model.lastUpdated.getTime(),
    cmp_id: model.cmpId,
    cmp_version: model.cmpVersion,
    consent_screen: model.consentScreen,
    consent_language: model.consentLanguage,
    vendor_list_version: model.vendorListVersion,
    policy_version: model.policyVersion,
    is_service_specific: model.isServiceSpecific,
    use_non_standard_texts: model.useNonStandardTexts,
    special_feature_opt_ins: ids(model.specialFeatureOptins),
    purpose_consents: ids(model.purposeConsents),
    purpose_legitimate_interests: ids(model.purposeLegitimateInterests),
    purpose_one_treatment: model.purposeOneTreatment,
    publisher_country: model.publisherCountryCode,
    vendor_consents: ids(model.vendorConsents),
    vendor_legitimate_interests: ids(model.vendorLegitimateInterests),
    disclosed_vendors: ids(model.vendorsDisclosed),
    publisher_restrictions: restrictions,
  };
}

function gppFields(text) {
  const model = new GppModel(text);
  const out = { section_ids: model.getSectionIds() };
  if (model.hasSection('tcfeuv2')) {
    const field = (name) => model.getFieldValue('tcfeuv2', name);
    out.tcfeuv2 = {
      cmp_id: field('CmpId'),
      purpose_consents: field('PurposeConsents').flatMap((set, i) => (set ? [i + 1] : [])),
      vendor_consents: field('VendorConsents'),
      vendor_legitimate_interests: field('VendorLegitimateInterests'),
      publisher_restrictions: field('PublisherRestrictions'),
      disclosed_vendors: field('VendorsDisclosed'),
    };
  }
  if (model.hasSection('usnat')) {
    const field = (name) => model.getFieldValue('usnat', name);
    out.usnat = {
      version: field('Version'),
      sharing_notice: field('SharingNotice'),
      targeted_advertising_opt_out: field('TargetedAdvertisingOptOut'),
      sale_opt_out: field('SaleOptOut'),
      known_child_sensitive_data_consents: field('KnownChildSensitiveDataConsents'),
      sensitive_data_processing: field('SensitiveDataProcessing'),
      personal_data_consents: field('PersonalDataConsents'),
      mspa_covered_transaction: field('MspaCoveredTransaction'),
      gpc: field('Gpc'),
    };
  }
  return out;
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const input = JSON.parse(line);
  const result = {};
  try { result.tc = tcFields(TCString.decode(input.tc)); } catch (e) { result.tc = { error: String(e) }; }
  try { result.gpp = gppFields(input.gpp); } catch (e) { result.gpp = { error: String(e) }; }
  process.stdout.write(JSON.stringify(result) + '\n');
}
