//! The countries the start screen offers, by name, and the ID types each supports: the
//! countries whose documents the reader knows (Ghana, Nigeria, Kenya, Uganda, Côte d'Ivoire,
//! Cameroon, Senegal), each with its national ID-number types from the core
//! (`IdType::country`) and the passport, which any country issues under ICAO 9303.

use kyc_core::document::idnumber::IdType;

use super::strings::Lang;

/// A supported country: ISO 3166 alpha-2 code, English and French names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country {
    /// ISO 3166 alpha-2.
    pub code: &'static str,
    /// English name.
    pub en: &'static str,
    /// French name.
    pub fr: &'static str,
}

impl Country {
    /// The name in `lang`.
    #[must_use]
    pub fn name(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.en,
            Lang::Fr => self.fr,
        }
    }
}

/// The supported countries, in the order offered.
pub const COUNTRIES: [Country; 7] = [
    Country {
        code: "GH",
        en: "Ghana",
        fr: "Ghana",
    },
    Country {
        code: "NG",
        en: "Nigeria",
        fr: "Nigeria",
    },
    Country {
        code: "KE",
        en: "Kenya",
        fr: "Kenya",
    },
    Country {
        code: "UG",
        en: "Uganda",
        fr: "Ouganda",
    },
    Country {
        code: "CI",
        en: "Côte d'Ivoire",
        fr: "Côte d'Ivoire",
    },
    Country {
        code: "CM",
        en: "Cameroon",
        fr: "Cameroun",
    },
    Country {
        code: "SN",
        en: "Senegal",
        fr: "Sénégal",
    },
];

/// The supported country with this code (any case), if any.
#[must_use]
pub fn by_code(code: &str) -> Option<&'static Country> {
    let code = code.trim();
    COUNTRIES.iter().find(|c| c.code.eq_ignore_ascii_case(code))
}

/// The ID types a customer of `code` may claim: the country's own types, then the passport.
#[must_use]
pub fn id_types(code: &str) -> Vec<IdType> {
    let code = code.trim().to_ascii_uppercase();
    let mut out: Vec<IdType> = IdType::ALL
        .into_iter()
        .filter(|t| t.country() == Some(code.as_str()))
        .collect();
    out.extend(IdType::ALL.into_iter().filter(|t| t.country().is_none()));
    out
}

/// An ID type's name for people.
#[must_use]
pub fn id_type_label(t: IdType, lang: Lang) -> &'static str {
    let fr = lang == Lang::Fr;
    match t {
        IdType::GhanaCardPin => "Ghana Card PIN",
        IdType::GhanaSsnit => "SSNIT",
        IdType::GhanaTin | IdType::NigeriaTin => {
            if fr {
                "NIF (TIN)"
            } else {
                "Tax ID (TIN)"
            }
        }
        IdType::GhanaVoterId => {
            if fr {
                "Carte d'électeur"
            } else {
                "Voter ID"
            }
        }
        IdType::GhanaDriverLicence | IdType::NigeriaDriverLicence => {
            if fr {
                "Permis de conduire"
            } else {
                "Driver's licence"
            }
        }
        IdType::NigeriaNin => "NIN",
        IdType::NigeriaBvn => "BVN",
        IdType::NigeriaVnin => "vNIN",
        IdType::NigeriaVin => {
            if fr {
                "Carte d'électeur (VIN)"
            } else {
                "Voter ID (VIN)"
            }
        }
        IdType::KenyaNationalId => {
            if fr {
                "Carte nationale d'identité"
            } else {
                "National ID card"
            }
        }
        IdType::KenyaKraPin => "KRA PIN",
        IdType::UgandaNin => "NIN",
        IdType::CoteDivoireNni => {
            if fr {
                "Carte nationale d'identité (NNI)"
            } else {
                "National ID card (NNI)"
            }
        }
        IdType::SenegalNin => {
            if fr {
                "Carte d'identité CEDEAO (NIN)"
            } else {
                "ECOWAS ID card (NIN)"
            }
        }
        IdType::CameroonCni => {
            if fr {
                "Carte nationale d'identité (CNI)"
            } else {
                "National ID card (CNI)"
            }
        }
        IdType::Passport => {
            if fr {
                "Passeport"
            } else {
                "Passport"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_country_offers_its_own_types_and_the_passport_only() {
        assert_eq!(
            id_types("gh"),
            [
                IdType::GhanaCardPin,
                IdType::GhanaSsnit,
                IdType::GhanaTin,
                IdType::GhanaVoterId,
                IdType::GhanaDriverLicence,
                IdType::Passport
            ]
        );
        assert!(!id_types("GH").contains(&IdType::NigeriaNin));
        assert_eq!(
            id_types("KE"),
            [
                IdType::KenyaNationalId,
                IdType::KenyaKraPin,
                IdType::Passport
            ]
        );
        assert_eq!(id_types("SN"), [IdType::SenegalNin, IdType::Passport]);
        assert_eq!(id_types("CM"), [IdType::CameroonCni, IdType::Passport]);
        for c in COUNTRIES {
            assert!(id_types(c.code).contains(&IdType::Passport), "{}", c.code);
            assert_eq!(by_code(&c.code.to_ascii_lowercase()), Some(&c));
        }
        assert_eq!(by_code("FR"), None);
        assert_eq!(by_code("UG").map(|c| c.name(Lang::Fr)), Some("Ouganda"));
    }
}
