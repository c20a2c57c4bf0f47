//! The function table: every name a template may call, with its arity, and the names that
//! are refused or unsupported on purpose. The parser looks names up here, so [`super::check`]
//! reports an unknown, refused or mis-called function before any value exists.

/// A function we implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    // Go text/template builtins.
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Print,
    Printf,
    Println,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Html,
    Js,
    Urlquery,
    // Sprig: strings.
    B64enc,
    B64dec,
    Upper,
    Lower,
    Title,
    Trim,
    TrimPrefix,
    TrimSuffix,
    TrimAll,
    Replace,
    Contains,
    HasPrefix,
    HasSuffix,
    Quote,
    Squote,
    Cat,
    Indent,
    Nindent,
    Repeat,
    Substr,
    Trunc,
    Nospace,
    Split,
    SplitList,
    Join,
    SortAlpha,
    // Sprig: defaults and logic.
    Default,
    Empty,
    Coalesce,
    Ternary,
    // Sprig: lists and dicts.
    List,
    Dict,
    Get,
    Set,
    Unset,
    HasKey,
    Keys,
    Has,
    First,
    Last,
    // Sprig: conversions and encodings.
    ToJson,
    ToPrettyJson,
    ToRawJson,
    FromJson,
    ToString,
    Atoi,
    Int,
    Int64,
    Float64,
    Sha1sum,
    Sha256sum,
    // Sprig: integer math.
    Add,
    Add1,
    Sub,
    Mul,
    Div,
    Mod,
    Max,
    Min,
}

const MANY: usize = usize::MAX;

/// Name, function, fewest and most arguments.
const TABLE: &[(&str, Func, usize, usize)] = &[
    ("and", Func::And, 1, MANY),
    ("or", Func::Or, 1, MANY),
    ("not", Func::Not, 1, 1),
    ("len", Func::Len, 1, 1),
    ("index", Func::Index, 1, MANY),
    ("slice", Func::Slice, 1, 3),
    ("print", Func::Print, 0, MANY),
    ("printf", Func::Printf, 1, MANY),
    ("println", Func::Println, 0, MANY),
    ("eq", Func::Eq, 2, MANY),
    ("ne", Func::Ne, 2, 2),
    ("lt", Func::Lt, 2, 2),
    ("le", Func::Le, 2, 2),
    ("gt", Func::Gt, 2, 2),
    ("ge", Func::Ge, 2, 2),
    ("html", Func::Html, 0, MANY),
    ("js", Func::Js, 0, MANY),
    ("urlquery", Func::Urlquery, 0, MANY),
    ("b64enc", Func::B64enc, 1, 1),
    ("b64dec", Func::B64dec, 1, 1),
    ("upper", Func::Upper, 1, 1),
    ("lower", Func::Lower, 1, 1),
    ("title", Func::Title, 1, 1),
    ("trim", Func::Trim, 1, 1),
    ("trimPrefix", Func::TrimPrefix, 2, 2),
    ("trimSuffix", Func::TrimSuffix, 2, 2),
    ("trimAll", Func::TrimAll, 2, 2),
    ("trimall", Func::TrimAll, 2, 2),
    ("replace", Func::Replace, 3, 3),
    ("contains", Func::Contains, 2, 2),
    ("hasPrefix", Func::HasPrefix, 2, 2),
    ("hasSuffix", Func::HasSuffix, 2, 2),
    ("quote", Func::Quote, 0, MANY),
    ("squote", Func::Squote, 0, MANY),
    ("cat", Func::Cat, 0, MANY),
    ("indent", Func::Indent, 2, 2),
    ("nindent", Func::Nindent, 2, 2),
    ("repeat", Func::Repeat, 2, 2),
    ("substr", Func::Substr, 3, 3),
    ("trunc", Func::Trunc, 2, 2),
    ("nospace", Func::Nospace, 1, 1),
    ("split", Func::Split, 2, 2),
    ("splitList", Func::SplitList, 2, 2),
    ("join", Func::Join, 2, 2),
    ("sortAlpha", Func::SortAlpha, 1, 1),
    ("default", Func::Default, 1, MANY),
    ("empty", Func::Empty, 1, 1),
    ("coalesce", Func::Coalesce, 0, MANY),
    ("ternary", Func::Ternary, 3, 3),
    ("list", Func::List, 0, MANY),
    ("dict", Func::Dict, 0, MANY),
    ("get", Func::Get, 2, 2),
    ("set", Func::Set, 3, 3),
    ("unset", Func::Unset, 2, 2),
    ("hasKey", Func::HasKey, 2, 2),
    ("keys", Func::Keys, 0, MANY),
    ("has", Func::Has, 2, 2),
    ("first", Func::First, 1, 1),
    ("mustFirst", Func::First, 1, 1),
    ("last", Func::Last, 1, 1),
    ("mustLast", Func::Last, 1, 1),
    ("toJson", Func::ToJson, 1, 1),
    ("mustToJson", Func::ToJson, 1, 1),
    ("toPrettyJson", Func::ToPrettyJson, 1, 1),
    ("mustToPrettyJson", Func::ToPrettyJson, 1, 1),
    ("toRawJson", Func::ToRawJson, 1, 1),
    ("mustToRawJson", Func::ToRawJson, 1, 1),
    ("fromJson", Func::FromJson, 1, 1),
    ("mustFromJson", Func::FromJson, 1, 1),
    ("toString", Func::ToString, 1, 1),
    ("atoi", Func::Atoi, 1, 1),
    ("int", Func::Int, 1, 1),
    ("int64", Func::Int64, 1, 1),
    ("float64", Func::Float64, 1, 1),
    ("sha1sum", Func::Sha1sum, 1, 1),
    ("sha256sum", Func::Sha256sum, 1, 1),
    ("add", Func::Add, 0, MANY),
    ("add1", Func::Add1, 1, 1),
    ("sub", Func::Sub, 2, 2),
    ("mul", Func::Mul, 1, MANY),
    ("div", Func::Div, 2, 2),
    ("mod", Func::Mod, 2, 2),
    ("max", Func::Max, 1, MANY),
    ("min", Func::Min, 1, MANY),
];

const CHANGES: &str = "its output changes on every reconcile, so the Secret would never settle";
const OUTSIDE: &str = "it reaches outside the template (environment, network)";
const KEYGEN: &str = "it generates key material or a random salt, which changes on every reconcile; create it once and seal or store it";

/// Names refused on purpose, and why.
const REFUSED: &[(&str, &str)] = &[
    ("now", CHANGES),
    ("date", CHANGES),
    ("dateInZone", CHANGES),
    ("date_in_zone", CHANGES),
    ("dateModify", CHANGES),
    ("date_modify", CHANGES),
    ("mustDateModify", CHANGES),
    ("must_date_modify", CHANGES),
    ("htmlDate", CHANGES),
    ("htmlDateInZone", CHANGES),
    ("ago", CHANGES),
    ("toDate", CHANGES),
    ("mustToDate", CHANGES),
    ("unixEpoch", CHANGES),
    ("randAlphaNum", CHANGES),
    ("randAlpha", CHANGES),
    ("randAscii", CHANGES),
    ("randNumeric", CHANGES),
    ("randBytes", CHANGES),
    ("randInt", CHANGES),
    ("shuffle", CHANGES),
    ("uuidv4", CHANGES),
    ("env", OUTSIDE),
    ("expandenv", OUTSIDE),
    ("getHostByName", OUTSIDE),
    ("genPrivateKey", KEYGEN),
    ("genCA", KEYGEN),
    ("genCAWithKey", KEYGEN),
    ("genSelfSignedCert", KEYGEN),
    ("genSelfSignedCertWithKey", KEYGEN),
    ("genSignedCert", KEYGEN),
    ("genSignedCertWithKey", KEYGEN),
    ("derivePassword", KEYGEN),
    ("encryptAES", KEYGEN),
    ("bcrypt", KEYGEN),
    ("htpasswd", KEYGEN),
];

const ESO_PEM: &str =
    "ESO's PKCS#12/PEM/JWK helpers are not implemented; convert the value before storing it";

/// Names that exist in Go templates, Sprig or ESO but are not implemented here.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("call", "templates here have no function values to call"),
    (
        "toYaml",
        "YAML output is not implemented; use toJson (JSON is valid YAML)",
    ),
    ("fromYaml", "YAML input is not implemented; use fromJson"),
    (
        "fromYamlArray",
        "YAML input is not implemented; use fromJson",
    ),
    ("decryptAES", "encryption helpers are not implemented"),
    ("pkcs12key", ESO_PEM),
    ("pkcs12keyPass", ESO_PEM),
    ("pkcs12cert", ESO_PEM),
    ("pkcs12certPass", ESO_PEM),
    ("pemToPkcs12", ESO_PEM),
    ("pemToPkcs12Pass", ESO_PEM),
    ("fullPemToPkcs12", ESO_PEM),
    ("fullPemToPkcs12Pass", ESO_PEM),
    ("filterPEM", ESO_PEM),
    ("filterCertChain", ESO_PEM),
    ("jwkPublicKeyPem", ESO_PEM),
    ("jwkPrivateKeyPem", ESO_PEM),
    ("pemCertificate", ESO_PEM),
    ("pemPrivateKey", ESO_PEM),
    ("regexMatch", REGEX),
    ("mustRegexMatch", REGEX),
    ("regexFind", REGEX),
    ("mustRegexFind", REGEX),
    ("regexFindAll", REGEX),
    ("mustRegexFindAll", REGEX),
    ("regexReplaceAll", REGEX),
    ("mustRegexReplaceAll", REGEX),
    ("regexReplaceAllLiteral", REGEX),
    ("mustRegexReplaceAllLiteral", REGEX),
    ("regexSplit", REGEX),
    ("mustRegexSplit", REGEX),
];

const REGEX: &str =
    "regular expressions are not implemented; use replace, split, trimPrefix or trimSuffix";

/// What a name means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    Func(Func),
    Refused(&'static str),
    Unsupported(&'static str),
    Unknown,
}

pub(crate) fn lookup(name: &str) -> Lookup {
    if let Some((_, f, _, _)) = TABLE.iter().find(|(n, ..)| *n == name) {
        return Lookup::Func(*f);
    }
    if let Some((_, why)) = REFUSED.iter().find(|(n, _)| *n == name) {
        return Lookup::Refused(why);
    }
    if let Some((_, why)) = UNSUPPORTED.iter().find(|(n, _)| *n == name) {
        return Lookup::Unsupported(why);
    }
    Lookup::Unknown
}

impl Func {
    pub(crate) fn name(self) -> &'static str {
        TABLE
            .iter()
            .find(|(_, f, ..)| *f == self)
            .map_or("?", |(n, ..)| n)
    }

    /// `Err(expected)` when `n` arguments are wrong.
    pub(crate) fn check_arity(self, n: usize) -> Result<(), String> {
        let (min, max) = TABLE
            .iter()
            .find(|(_, f, ..)| *f == self)
            .map_or((0, MANY), |(_, _, min, max)| (*min, *max));
        if (min..=max).contains(&n) {
            return Ok(());
        }
        Err(if max == MANY {
            format!("at least {min}")
        } else if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        })
    }
}

/// Every refused name (for tests and docs).
#[cfg(test)]
pub(crate) fn refused_names() -> impl Iterator<Item = &'static str> {
    REFUSED.iter().map(|(n, _)| *n)
}

/// Every implemented name (for tests).
#[cfg(test)]
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(n, ..)| *n)
}
