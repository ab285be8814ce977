#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// Unicode helpers the tokenizers share (ICU underneath). Text in core is UTF-8 std::string;
// offsets are byte offsets into the caller's string.
namespace tunebench::unicode {

// A decoded code point and the byte span [begin, end) it came from in the original text.
struct CodePoint
{
  char32_t cp = 0;
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
};

// Decodes UTF-8; an invalid byte becomes U+FFFD spanning that one byte.
std::vector<CodePoint> decode(std::string_view text);
void append(std::string &out, char32_t cp);
std::string encode(const std::u32string &text);
std::u32string toU32(std::string_view text);
// True when text is well-formed UTF-8; otherwise *badOffset (if given) is the first bad byte.
bool isValidUtf8(std::string_view text, std::size_t *badOffset = nullptr);

bool isLetter(char32_t cp);       // L*
bool isNumber(char32_t cp);       // N*
bool isMark(char32_t cp);         // M* (Mn, Mc, Me)
bool isNonspacingMark(char32_t cp); // Mn only: what BERT's accent stripping removes
bool isPunctuation(char32_t cp);  // P*
bool isOther(char32_t cp);        // C* (Cc, Cf, Cs, Co, Cn)
bool isWhiteSpace(char32_t cp);   // the Unicode White_Space property
bool isCjkIdeograph(char32_t cp); // the CJK blocks BERT splits into single characters

// Canonical decomposition (NFD) of one code point; itself when it has none.
std::u32string decomposeCanonical(char32_t cp);
// Full lower-case mapping of one code point (may yield several, e.g. U+0130).
std::u32string toLowerFull(char32_t cp);

// True when NFKC normalisation never combines cp with what precedes it (a chunk may start here).
bool nfkcBoundaryBefore(char32_t cp);

// Whole-string normalisation forms.
std::string nfc(std::string_view text);
std::string nfkc(std::string_view text);
std::string nfd(std::string_view text);
std::string lowerFull(std::string_view text);

enum class NormalForm { NFC, NFD, NFKC, NFKD };
std::u32string normalize(const std::u32string &text, NormalForm form);
// True when `form` never combines cp with what precedes it: text split just before such code points
// normalises piece by piece to the same result as whole.
bool boundaryBefore(char32_t cp, NormalForm form);

// Start indices of the extended grapheme clusters of text (UAX #29), followed by text.size().
std::vector<std::size_t> graphemeBoundaries(const std::u32string &text);

// Non-overlapping matches [begin, end) (code-point indices) of an ICU regular expression, left to
// right. Throws tunebench::Error when the pattern does not compile.
std::vector<std::pair<std::size_t, std::size_t>> regexMatches(const std::u32string &text, const std::string &pattern);

} // namespace tunebench::unicode
