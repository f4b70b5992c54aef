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

// field-line   = field-name ":" OWS field-value OWS
// field-value  = *field-content; field-content = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ]
// field-vchar  = VCHAR / obs-text; like h11 we accept any byte but NUL and whitespace, since
//                control bytes do appear in the wild. So a line of a field holds anything but
//                NUL, VT, FF, CR and LF once the field-name and colon are past.
// obs-fold     = OWS CRLF RWS (a line that starts with SP or HTAB continues the one before)
const FIELD_LINE = `${TOKEN}:[^\\0\\x0b\\x0c\\r\\n]*\\r?\\n`;
const FOLD_LINE = "[ \\t][^\\0\\x0b\\x0c\\r\\n]*\\r?\\n";

// A field value as sent, whole: field-content or nothing, every character a byte (none
// above 0xFF), field-vchars at both ends and SP or HTAB allowed only between them.
const FIELD_VCHAR = "[^\\0\\t-\\r \\u0100-\\uffff]";
const FIELD_VALUE = `(?:${FIELD_VCHAR}(?:[^\\0\\n-\\r\\u0100-\\uffff]*${FIELD_VCHAR})?)?`;

/**
 * A header name and a header value as `send()` takes them (isValidHeaderName,
 * isValidHeaderValue). One native pass each: for values of a few dozen bytes, several
 * times cheaper than a loop over charCodeAt.
 */
export const FIELD_NAME_RE: RegExp = new RegExp(`^${TOKEN}$`);
export const FIELD_VALUE_RE: RegExp = new RegExp(`^${FIELD_VALUE}$`);

/**
 * All the field lines of a head and the blank line that ends it, checked in one native
 * pass (sticky: set lastIndex to where the fields start). Lines end in LF or CR LF.
 */
export const FIELD_LINES_RE: RegExp = new RegExp(`(?:${FIELD_LINE}|${FOLD_LINE})*\\r?\\n`, "y");

// method = token and request-target = 1*VCHAR (loosely: each form of RFC 9112 §3.2 is made
// of these) are checked on send with the byte tables of chars.ts (isToken, isVisibleAscii).

// HTTP-version = HTTP-name "/" DIGIT "." DIGIT
const HTTP_VERSION = "HTTP/([0-9]\\.[0-9])";

/** request-line = method SP request-target SP HTTP-version */
export const REQUEST_LINE_RE: RegExp = new RegExp(`^(${TOKEN}) (${VCHAR}+) ${HTTP_VERSION}$`);

// Content-Length = 1*DIGIT is checked digit by digit in headers.ts.

/**
 * chunk = chunk-size [ chunk-ext ] CRLF; chunk-size = 1*HEXDIG. Extensions are skipped
 * without interpretation, as h11 does.
 */
export const CHUNK_HEADER_RE: RegExp = new RegExp(`^([0-9A-Fa-f]{1,20})(?:;[^\\n]*)?${OWS}\\r\\n$`);
