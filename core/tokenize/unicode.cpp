#include "core/tokenize/unicode.h"

#include "core/util/error.h"

#include <unicode/brkiter.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/regex.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/ustring.h>

#include <memory>

namespace tunebench::unicode {

namespace {

// Length of the UTF-8 sequence a lead byte starts, 0 for an invalid lead byte.
int sequenceLength(unsigned char lead)
{
  if (lead < 0x80)
    return 1;
  if (lead >= 0xC2 && lead <= 0xDF)
    return 2;
  if (lead >= 0xE0 && lead <= 0xEF)
    return 3;
  if (lead >= 0xF0 && lead <= 0xF4)
    return 4;
  return 0;
}

// Decodes one well-formed sequence at text[i]; returns its length or 0 when it is malformed.
int decodeOne(std::string_view text, std::size_t i, char32_t &cp)
{
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const int n = sequenceLength(byte(i));
  if (n == 0 || i + n > text.size())
    return 0;
  if (n == 1) {
    cp = byte(i);
    return 1;
  }
  cp = byte(i) & (0xFF >> (n + 1));
  for (int k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are malformed.
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

const icu::Normalizer2 &normalizer(UNormalization2Mode mode, const char *name)
{
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2 *n = icu::Normalizer2::getInstance(nullptr, name, mode, status);
  if (U_FAILURE(status) || !n)
    throw Error(std::string("ICU: cannot load the ") + name + " normaliser");
  return *n;
}

std::string normalize(std::string_view text, const icu::Normalizer2 &n)
{
  UErrorCode status = U_ZERO_ERROR;
  const icu::UnicodeString in = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), text.size()));
  const icu::UnicodeString out = n.normalize(in, status);
  if (U_FAILURE(status))
    throw Error("ICU: normalisation failed");
  std::string result;
  out.toUTF8String(result);
  return result;
}

std::u32string fromUnicodeString(const icu::UnicodeString &s)
{
  std::u32string out;
  for (int32_t i = 0; i < s.length();) {
    const UChar32 c = s.char32At(i);
    out.push_back(static_cast<char32_t>(c));
    i += U16_LENGTH(c);
  }
  return out;
}

int category(char32_t cp) { return u_charType(static_cast<UChar32>(cp)); }

} // namespace

std::vector<CodePoint> decode(std::string_view text)
{
  std::vector<CodePoint> out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    int n = decodeOne(text, i, cp);
    if (n == 0) {
      cp = 0xFFFD;
      n = 1;
    }
    out.push_back({cp, static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i + n)});
    i += n;
  }
  return out;
}

bool isValidUtf8(std::string_view text, std::size_t *badOffset)
{
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    const int n = decodeOne(text, i, cp);
    if (n == 0) {
      if (badOffset)
        *badOffset = i;
      return false;
    }
    i += n;
  }
  return true;
}

void append(std::string &out, char32_t cp)
{
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode(const std::u32string &text)
{
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text)
    append(out, cp);
  return out;
}

std::u32string toU32(std::string_view text)
{
  std::u32string out;
  for (const CodePoint &c : decode(text))
    out.push_back(c.cp);
  return out;
}

bool isLetter(char32_t cp) { return (U_GET_GC_MASK(cp) & U_GC_L_MASK) != 0; }
bool isNumber(char32_t cp) { return (U_GET_GC_MASK(cp) & U_GC_N_MASK) != 0; }
bool isMark(char32_t cp) { return (U_GET_GC_MASK(cp) & U_GC_M_MASK) != 0; }
bool isNonspacingMark(char32_t cp) { return category(cp) == U_NON_SPACING_MARK; }
bool isPunctuation(char32_t cp) { return (U_GET_GC_MASK(cp) & U_GC_P_MASK) != 0; }
bool isOther(char32_t cp)
{
  const int c = category(cp);
  return c == U_CONTROL_CHAR || c == U_FORMAT_CHAR || c == U_SURROGATE || c == U_PRIVATE_USE_CHAR ||
         c == U_UNASSIGNED;
}
bool isWhiteSpace(char32_t cp) { return u_isUWhiteSpace(static_cast<UChar32>(cp)); }

bool isCjkIdeograph(char32_t cp)
{
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

std::u32string decomposeCanonical(char32_t cp)
{
  static const icu::Normalizer2 &nfdNormalizer = normalizer(UNORM2_DECOMPOSE, "nfc");
  UErrorCode status = U_ZERO_ERROR;
  const icu::UnicodeString out = nfdNormalizer.normalize(icu::UnicodeString(static_cast<UChar32>(cp)), status);
  if (U_FAILURE(status))
    return std::u32string(1, cp);
  return fromUnicodeString(out);
}

std::u32string toLowerFull(char32_t cp)
{
  if (cp < 0x80)
    return std::u32string(1, (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp);
  icu::UnicodeString s(static_cast<UChar32>(cp));
  s.toLower(icu::Locale::getRoot());
  return fromUnicodeString(s);
}

bool nfkcBoundaryBefore(char32_t cp)
{
  return normalizer(UNORM2_COMPOSE, "nfkc").hasBoundaryBefore(static_cast<UChar32>(cp));
}

std::string nfc(std::string_view text) { return normalize(text, normalizer(UNORM2_COMPOSE, "nfc")); }
std::string nfkc(std::string_view text) { return normalize(text, normalizer(UNORM2_COMPOSE, "nfkc")); }
std::string nfd(std::string_view text) { return normalize(text, normalizer(UNORM2_DECOMPOSE, "nfc")); }

namespace {

const icu::Normalizer2 &formNormalizer(NormalForm form)
{
  switch (form) {
  case NormalForm::NFC: return normalizer(UNORM2_COMPOSE, "nfc");
  case NormalForm::NFD: return normalizer(UNORM2_DECOMPOSE, "nfc");
  case NormalForm::NFKC: return normalizer(UNORM2_COMPOSE, "nfkc");
  case NormalForm::NFKD: return normalizer(UNORM2_DECOMPOSE, "nfkc");
  }
  return normalizer(UNORM2_COMPOSE, "nfc");
}

// UTF-16 copy of text and, for each UTF-16 unit, the index of its code point.
icu::UnicodeString toUnicodeString(const std::u32string &text, std::vector<std::size_t> *unitToIndex = nullptr)
{
  icu::UnicodeString s;
  for (std::size_t i = 0; i < text.size(); ++i) {
    s.append(static_cast<UChar32>(text[i]));
    if (unitToIndex)
      unitToIndex->resize(static_cast<std::size_t>(s.length()), i);
  }
  if (unitToIndex)
    unitToIndex->push_back(text.size());
  return s;
}

} // namespace

std::u32string normalize(const std::u32string &text, NormalForm form)
{
  UErrorCode status = U_ZERO_ERROR;
  const icu::UnicodeString out = formNormalizer(form).normalize(toUnicodeString(text), status);
  if (U_FAILURE(status))
    throw Error("ICU: normalisation failed");
  return fromUnicodeString(out);
}

bool boundaryBefore(char32_t cp, NormalForm form)
{
  return formNormalizer(form).hasBoundaryBefore(static_cast<UChar32>(cp));
}

std::vector<std::size_t> graphemeBoundaries(const std::u32string &text)
{
  std::vector<std::size_t> unitToIndex;
  const icu::UnicodeString s = toUnicodeString(text, &unitToIndex);
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::BreakIterator> it(icu::BreakIterator::createCharacterInstance(icu::Locale::getRoot(), status));
  if (U_FAILURE(status) || !it)
    throw Error("ICU: cannot create a grapheme break iterator");
  it->setText(s);
  std::vector<std::size_t> out;
  for (int32_t p = it->first(); p != icu::BreakIterator::DONE; p = it->next())
    out.push_back(unitToIndex[static_cast<std::size_t>(p)]);
  if (out.empty() || out.back() != text.size())
    out.push_back(text.size());
  return out;
}

std::vector<std::pair<std::size_t, std::size_t>> regexMatches(const std::u32string &text, const std::string &pattern)
{
  UErrorCode status = U_ZERO_ERROR;
  UParseError parseError{};
  std::unique_ptr<icu::RegexPattern> compiled(icu::RegexPattern::compile(
      icu::UnicodeString::fromUTF8(icu::StringPiece(pattern.data(), pattern.size())), 0, parseError, status));
  if (U_FAILURE(status) || !compiled)
    throw Error("regular expression \"" + pattern + "\" does not compile (" + u_errorName(status) + ")");
  std::vector<std::size_t> unitToIndex;
  const icu::UnicodeString s = toUnicodeString(text, &unitToIndex);
  std::unique_ptr<icu::RegexMatcher> matcher(compiled->matcher(s, status));
  std::vector<std::pair<std::size_t, std::size_t>> out;
  while (U_SUCCESS(status) && matcher->find(status)) {
    const int32_t b = matcher->start(status);
    const int32_t e = matcher->end(status);
    if (U_FAILURE(status))
      break;
    if (e > b)
      out.emplace_back(unitToIndex[static_cast<std::size_t>(b)], unitToIndex[static_cast<std::size_t>(e)]);
  }
  return out;
}

std::string lowerFull(std::string_view text)
{
  icu::UnicodeString s = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), text.size()));
  s.toLower(icu::Locale::getRoot());
  std::string out;
  s.toUTF8String(out);
  return out;
}

} // namespace tunebench::unicode
