#include "core/models/picklemachine.h"

#include "core/util/error.h"

#include <cstring>
#include <memory>
#include <tuple>
#include <unordered_map>

namespace tunebench {

namespace {

// The pickle machine: the opcodes of protocols 2-4 that a state dict's pickle uses, nothing that
// builds arbitrary objects.

struct StorageInfo
{
  std::string key;
  std::string dtype; // safetensors' names: F32, F16, BF16, …
  std::int64_t elementBytes = 4;
  std::int64_t numel = 0;
};

struct Obj;
using Ref = Obj *; // owned by the machine's arena: a pickle may build cycles (a list holding itself)

struct Obj
{
  // clang-format off
  enum class Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Storage, Tensor } kind = Kind::None;
  // clang-format on
  std::int64_t i = 0;
  double f = 0;
  std::string s;          // Str, and Global as "module name"
  std::vector<Ref> items; // Tuple, List
  std::vector<std::pair<Ref, Ref>> dict;
  StorageInfo storage;
  Ref tensorStorage; // Tensor: its Storage, offset and view
  std::int64_t offset = 0;
  std::vector<std::int64_t> sizes, strides;
};

struct StorageType
{
  const char *name;
  const char *dtype;
  int bytes;
};

const StorageType kStorageTypes[] = {
    {"torch FloatStorage", "F32", 4},  {"torch HalfStorage", "F16", 2}, {"torch BFloat16Storage", "BF16", 2},
    {"torch DoubleStorage", "F64", 8}, {"torch LongStorage", "I64", 8}, {"torch IntStorage", "I32", 4},
    {"torch ShortStorage", "I16", 2},  {"torch CharStorage", "I8", 1},  {"torch ByteStorage", "U8", 1},
    {"torch BoolStorage", "BOOL", 1},
};

class PickleMachine
{
public:
  PickleMachine(std::string_view data, std::string where)
    : m_data(data)
    , m_end(data.size())
    , m_where(std::move(where))
  {}

  Ref run()
  {
    while (m_at < m_end) {
      m_op = m_at;
      const auto code = static_cast<unsigned char>(m_data[m_at++]);
      if (code == '.')
        return pop();
      step(code);
    }
    throw fail("the pickle ends without its STOP opcode (truncated?)");
  }

private:
  Ref make(Obj::Kind kind)
  {
    m_arena.push_back(std::make_unique<Obj>());
    m_arena.back()->kind = kind;
    return m_arena.back().get();
  }

  Error fail(const std::string &what) const
  {
    return Error(m_where + " at byte " + std::to_string(m_op) + ": " + what);
  }

  std::uint64_t take(int n)
  {
    if (static_cast<std::uint64_t>(n) > m_end - m_at)
      throw fail("an operand runs past the end of the pickle (truncated?)");
    std::uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k)
      v = (v << 8) | static_cast<unsigned char>(m_data[m_at + static_cast<std::uint64_t>(k)]);
    m_at += static_cast<std::uint64_t>(n);
    return v;
  }
  std::string takeBytes(std::uint64_t n)
  {
    if (n > m_end - m_at)
      throw fail("a string of " + std::to_string(n) + " bytes runs past the end of the pickle");
    std::string s(m_data.substr(m_at, n));
    m_at += n;
    return s;
  }
  std::string takeLine()
  {
    const std::size_t nl = m_data.find('\n', m_at);
    if (nl == std::string_view::npos || nl >= m_end || nl - m_at > 256)
      throw fail("a GLOBAL name is not a line of at most 256 bytes");
    std::string s(m_data.substr(m_at, nl - m_at));
    m_at = nl + 1;
    return s;
  }

  std::size_t fence() const { return m_marks.empty() ? 0 : m_marks.back(); }
  void push(Ref r) { m_stack.push_back(std::move(r)); }
  Ref pop()
  {
    if (m_stack.size() <= fence())
      throw fail("an opcode needs a value the stack does not hold");
    Ref r = std::move(m_stack.back());
    m_stack.pop_back();
    return r;
  }
  Ref &top()
  {
    if (m_stack.size() <= fence())
      throw fail("an opcode needs a value the stack does not hold");
    return m_stack.back();
  }
  std::vector<Ref> popMark()
  {
    if (m_marks.empty())
      throw fail("an opcode needs a MARK the pickle did not set");
    const std::size_t k = m_marks.back();
    m_marks.pop_back();
    std::vector<Ref> items(m_stack.begin() + static_cast<std::ptrdiff_t>(k), m_stack.end());
    m_stack.resize(k);
    return items;
  }
  Ref expect(Ref r, Obj::Kind kind, const char *what)
  {
    if (!r || r->kind != kind)
      throw fail(std::string("expected ") + what);
    return r;
  }

  Obj &pushNew(Obj::Kind kind)
  {
    push(make(kind));
    return *m_stack.back();
  }
  void pushInt(std::int64_t v) { pushNew(Obj::Kind::Int).i = v; }
  void pushStr(std::string s, Obj::Kind kind = Obj::Kind::Str) { pushNew(kind).s = std::move(s); }
  void pushTuple(std::vector<Ref> items) { pushNew(Obj::Kind::Tuple).items = std::move(items); }
  void memoPut(std::uint64_t index) { m_memo[index] = top(); }
  void memoGet(std::uint64_t index)
  {
    const auto it = m_memo.find(index);
    if (it == m_memo.end())
      throw fail("memo entry " + std::to_string(index) + " is read before it is written");
    push(it->second);
  }
  void addPairs(Ref &dict, std::vector<Ref> items)
  {
    expect(dict, Obj::Kind::Dict, "a dictionary to add items to");
    if (items.size() % 2)
      throw fail("a dictionary's items do not come in key-value pairs");
    for (std::size_t k = 0; k < items.size(); k += 2)
      dict->dict.emplace_back(items[k], items[k + 1]);
  }

  std::int64_t signedLong(std::uint64_t n)
  {
    if (n > 8)
      throw fail("an integer of " + std::to_string(n) + " bytes is out of range");
    if (n == 0)
      return 0;
    std::uint64_t v = take(static_cast<int>(n));
    if (n < 8 && (v >> (8 * n - 1)) & 1) // sign-extend
      v |= ~std::uint64_t(0) << (8 * n);
    return static_cast<std::int64_t>(v);
  }

  // Protocol framing, MARK, the memo and plain stack moves.
  bool stepStack(unsigned char code)
  {
    // The memo: BINPUT, LONG_BINPUT, BINGET, LONG_BINGET with their index's width; MEMOIZE.
    static const std::tuple<unsigned char, int, bool> kMemo[] = {
        {'q', 1, true}, {'r', 4, true}, {'h', 1, false}, {'j', 4, false}};
    for (const auto &[op, width, put] : kMemo)
      if (code == op) {
        const std::uint64_t index = take(width);
        put ? memoPut(index) : memoGet(index);
        return true;
      }
    switch (code) {
    case 0x94:
      memoPut(m_memo.size());
      return true; // MEMOIZE
    case 0x80:
      take(1);
      return true; // PROTO
    case 0x95:
      take(8);
      return true; // FRAME
    case '(':
      m_marks.push_back(m_stack.size());
      return true;
    case '0':
      pop();
      return true; // POP
    case '1':
      popMark();
      return true; // POP_MARK
    case '2':
      push(top());
      return true; // DUP
    default:
      return false;
    }
  }

  // None, booleans, integers, floats and strings.
  bool stepScalar(unsigned char code)
  {
    // Strings and bytes: the opcode, the width of the length that comes first.
    static const std::pair<unsigned char, int> kStrings[] = {{'X', 4}, {0x8c, 1}, {0x8d, 8}, {'T', 4},
                                                             {'B', 4}, {'U', 1},  {'C', 1}};
    for (const auto &[op, width] : kStrings)
      if (code == op) {
        pushStr(takeBytes(take(width)));
        return true;
      }
    switch (code) {
    case 'N':
      push(make(Obj::Kind::None));
      return true;
    case 0x88:
    case 0x89: { // NEWTRUE, NEWFALSE
      pushNew(Obj::Kind::Bool).i = code == 0x88;
      return true;
    }
    case 'K':
      pushInt(static_cast<std::int64_t>(take(1)));
      return true;
    case 'M':
      pushInt(static_cast<std::int64_t>(take(2)));
      return true;
    case 'J':
      pushInt(static_cast<std::int32_t>(take(4)));
      return true;
    case 0x8a:
      pushInt(signedLong(take(1)));
      return true; // LONG1
    case 'G': {    // BINFLOAT, big-endian
      std::uint64_t bits = 0;
      for (int k = 0; k < 8; ++k)
        bits = (bits << 8) | take(1);
      std::memcpy(&pushNew(Obj::Kind::Float).f, &bits, sizeof bits);
      return true;
    }
    default:
      return false;
    }
  }

  // Tuples, lists and dictionaries.
  bool stepContainer(unsigned char code)
  {
    switch (code) {
    case ')':
      pushTuple({});
      return true;
    case 't':
      pushTuple(popMark());
      return true;
    case 0x85:
    case 0x86:
    case 0x87: { // TUPLE1-3
      std::vector<Ref> items(static_cast<std::size_t>(code - 0x84));
      for (auto it = items.rbegin(); it != items.rend(); ++it)
        *it = pop();
      pushTuple(std::move(items));
      return true;
    }
    case ']':
      push(make(Obj::Kind::List));
      return true;
    case 'l': {
      std::vector<Ref> items = popMark();
      pushNew(Obj::Kind::List).items = std::move(items);
      return true;
    }
    case 'a': {
      Ref v = pop();
      expect(top(), Obj::Kind::List, "a list to append to")->items.push_back(v);
      return true;
    }
    case 'e': {
      std::vector<Ref> items = popMark();
      Ref list = expect(top(), Obj::Kind::List, "a list to append to");
      list->items.insert(list->items.end(), items.begin(), items.end());
      return true;
    }
    case '}':
      push(make(Obj::Kind::Dict));
      return true;
    case 'd': {
      Ref r = make(Obj::Kind::Dict);
      addPairs(r, popMark());
      push(r);
      return true;
    }
    case 's': {
      Ref v = pop(), k = pop();
      addPairs(top(), {k, v});
      return true;
    }
    case 'u': {
      std::vector<Ref> items = popMark();
      addPairs(top(), std::move(items));
      return true;
    }
    default:
      return false;
    }
  }

  // Globals, storages (persistent ids), calls and BUILD.
  bool stepObject(unsigned char code)
  {
    switch (code) {
    case 'c': { // GLOBAL
      std::string module = takeLine();
      pushStr(module + " " + takeLine(), Obj::Kind::Global);
      return true;
    }
    case 0x93: { // STACK_GLOBAL
      Ref name = expect(pop(), Obj::Kind::Str, "a global's name");
      Ref module = expect(pop(), Obj::Kind::Str, "a global's module");
      pushStr(module->s + " " + name->s, Obj::Kind::Global);
      return true;
    }
    case 'Q':
      push(persistent(pop()));
      return true; // BINPERSID
    case 'R': {    // REDUCE
      Ref args = expect(pop(), Obj::Kind::Tuple, "a tuple of arguments");
      Ref callable = expect(pop(), Obj::Kind::Global, "a callable global");
      push(call(callable->s, args->items));
      return true;
    }
    case 'b': { // BUILD: a dictionary's or tensor's extra state, unused
      pop();
      const Obj::Kind kind = top()->kind;
      if (kind != Obj::Kind::Dict && kind != Obj::Kind::Tensor)
        throw fail("BUILD on something that is neither a dictionary nor a tensor");
      return true;
    }
    default:
      return false;
    }
  }

  void step(unsigned char code)
  {
    if (stepStack(code) || stepScalar(code) || stepContainer(code) || stepObject(code))
      return;
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", code);
    throw fail(std::string("opcode ") + hex + " is not part of a state dict's pickle");
  }

  // ('storage', torch.FloatStorage, key, location, numel)
  Ref persistent(const Ref &id)
  {
    expect(id, Obj::Kind::Tuple, "a storage reference");
    if (id->items.size() != 5 || id->items[0]->kind != Obj::Kind::Str || id->items[0]->s != "storage")
      throw fail("a persistent reference that is not ('storage', type, key, location, size)");
    const Ref type = expect(id->items[1], Obj::Kind::Global, "a storage type");
    const Ref key = expect(id->items[2], Obj::Kind::Str, "a storage key");
    const Ref numel = expect(id->items[4], Obj::Kind::Int, "a storage size");
    Ref r = make(Obj::Kind::Storage);
    const StorageType *t = nullptr;
    for (const StorageType &s : kStorageTypes)
      if (type->s == s.name)
        t = &s;
    if (!t)
      throw fail("storage type \"" + type->s + "\" is not one tunebench reads");
    if (numel->i < 0)
      throw fail("storage \"" + key->s + "\" has a negative size");
    r->storage = {key->s, t->dtype, t->bytes, numel->i};
    return r;
  }

  std::vector<std::int64_t> ints(const Ref &tuple, const char *what)
  {
    expect(tuple, Obj::Kind::Tuple, what);
    if (tuple->items.size() > 64)
      throw fail(std::string(what) + " has more than 64 dimensions");
    std::vector<std::int64_t> out;
    for (const Ref &r : tuple->items) {
      if (r->kind != Obj::Kind::Int || r->i < 0)
        throw fail(std::string(what) + " holds something other than non-negative integers");
      out.push_back(r->i);
    }
    return out;
  }

  // The view's last element must lie inside its storage: offset + Σ (size − 1) · stride < numel.
  void checkView(const Obj &t)
  {
    const std::int64_t numel = t.tensorStorage->storage.numel;
    if (t.sizes.size() != t.strides.size())
      throw fail("a tensor's sizes and strides differ in length");
    std::int64_t last = t.offset;
    for (std::size_t k = 0; k < t.sizes.size(); ++k) {
      if (t.sizes[k] == 0)
        return; // an empty view reads nothing
      std::int64_t reach = 0;
      if (__builtin_mul_overflow(t.sizes[k] - 1, t.strides[k], &reach) ||
          __builtin_add_overflow(last, reach, &last))
        last = INT64_MAX;
    }
    if (last >= numel)
      throw fail("a tensor of storage \"" + t.tensorStorage->storage.key + "\" reaches element " +
                 std::to_string(last) + " of a storage of " + std::to_string(numel) +
                 " (a view past its storage)");
  }

  Ref call(const std::string &name, const std::vector<Ref> &args)
  {
    if (name == "collections OrderedDict") {
      if (!args.empty())
        throw fail("OrderedDict built from arguments");
      return make(Obj::Kind::Dict);
    }
    if (name == "torch._utils _rebuild_parameter") {
      if (args.empty())
        throw fail("_rebuild_parameter without its tensor");
      return expect(args[0], Obj::Kind::Tensor, "a tensor for _rebuild_parameter");
    }
    if (name == "torch._utils _rebuild_tensor_v2") {
      if (args.size() < 4)
        throw fail("_rebuild_tensor_v2 with fewer than four arguments");
      Ref t = make(Obj::Kind::Tensor);
      t->tensorStorage = expect(args[0], Obj::Kind::Storage, "a storage for _rebuild_tensor_v2");
      t->offset = expect(args[1], Obj::Kind::Int, "a storage offset")->i;
      if (t->offset < 0)
        throw fail("a negative storage offset");
      t->sizes = ints(args[2], "a tensor's sizes");
      t->strides = ints(args[3], "a tensor's strides");
      checkView(*t);
      return t;
    }
    throw fail("\"" + name +
               "\" is not part of a state dict (only tensors, storages and dictionaries are read)");
  }

  std::string_view m_data;
  std::uint64_t m_at = 0, m_end, m_op = 0;
  std::string m_where;
  std::vector<Ref> m_stack;
  std::vector<std::size_t> m_marks;
  std::unordered_map<std::uint64_t, Ref> m_memo;
  std::vector<std::unique_ptr<Obj>> m_arena;
};

} // namespace

std::vector<PickledTensor> readStateDictPickle(std::string_view pickle, const std::string &where)
{
  PickleMachine machine(pickle, where); // owns every object run() builds
  const Ref root = machine.run();
  if (!root || root->kind != Obj::Kind::Dict)
    throw Error(where + ": expected a state dict (a dictionary of tensors)");
  std::vector<PickledTensor> out;
  for (const auto &[key, value] : root->dict) {
    if (key->kind != Obj::Kind::Str || value->kind != Obj::Kind::Tensor)
      continue;
    const StorageInfo &s = value->tensorStorage->storage;
    out.push_back(
        {key->s, s.key, s.dtype, s.elementBytes, s.numel, value->offset, value->sizes, value->strides});
  }
  return out;
}

} // namespace tunebench
