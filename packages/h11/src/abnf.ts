// The RFC 9110 / 9112 grammar as regular expressions, each under the ABNF it encodes.
// Strings hold bytes as latin1, so every class below is written in terms of bytes;
// none may match a code unit above 0xFF. These follow h11's _abnf.py.

// OWS = *( SP / HTAB )
const OWS = "[ \\t]*";

// token = 1*tchar
// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
const TOKEN = "[-!#$%&'*+.^_`|~0-9a-zA-Z]+";

// VCHAR = %x21-7E
const VCHAR = "[\\x21-\\x7e]";

// field-vchar = VCHAR / obs-text. Like h11 (and most servers) we accept any byte that
// is neither NUL nor whitespace: control bytes do appear in the wild.
const FIELD_VCHAR = "[\\x01-\\x08\\x0e-\\x1f\\x21-\\xff]";

// field-content = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ]
const FIELD_CONTENT = `${FIELD_VCHAR}+(?:[ \\t]+${FIELD_VCHAR}+)*`;

/** field-name = token */
export const FIELD_NAME_RE: RegExp = new RegExp(`^${TOKEN}$`);

/** field-value = *field-content */
export const FIELD_VALUE_RE: RegExp = new RegExp(`^(?:${FIELD_CONTENT})?$`);

/** header-field = field-name ":" OWS field-value OWS */
export const HEADER_FIELD_RE: RegExp = new RegExp(`^(${TOKEN}):${OWS}(${FIELD_CONTENT})?${OWS}$`);

/** method = token */
export const METHOD_RE: RegExp = new RegExp(`^${TOKEN}$`);

/** request-target = 1*VCHAR (loosely: each form of RFC 9112 §3.2 is made of these) */
export const REQUEST_TARGET_RE: RegExp = new RegExp(`^${VCHAR}+$`);

// HTTP-version = HTTP-name "/" DIGIT "." DIGIT
const HTTP_VERSION = "HTTP/([0-9]\\.[0-9])";

/** request-line = method SP request-target SP HTTP-version */
export const REQUEST_LINE_RE: RegExp = new RegExp(`^(${TOKEN}) (${VCHAR}+) ${HTTP_VERSION}$`);

// reason-phrase = *( HTAB / SP / VCHAR / obs-text )
const REASON_PHRASE = "[\\t\\x01-\\x08\\x0e-\\x1f\\x20-\\xff]*";

/** status-line = HTTP-version SP status-code SP [ reason-phrase ] (the last SP optional, as h11) */
export const STATUS_LINE_RE: RegExp = new RegExp(
  `^${HTTP_VERSION} ([0-9]{3})(?: (${REASON_PHRASE}))?$`,
);

/** A Content-Length value: 1*DIGIT. */
export const CONTENT_LENGTH_RE: RegExp = /^[0-9]+$/;

/**
 * chunk = chunk-size [ chunk-ext ] CRLF; chunk-size = 1*HEXDIG. Extensions are skipped
 * without interpretation, as h11 does.
 */
export const CHUNK_HEADER_RE: RegExp = new RegExp(`^([0-9A-Fa-f]{1,20})(?:;[^\\n]*)?${OWS}\\r\\n$`);

/** obs-fold: a header line that starts with whitespace continues the previous one. */
export const OBS_FOLD_RE: RegExp = /^[ \t]+/;
