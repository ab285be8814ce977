#include "core/models/torchpickle.h"

#include "core/util/error.h"
#include "core/util/files.h"

#include <torch/torch.h>

#include <cstring>
#include <unordered_map>

namespace tunebench {
namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------------------------
// The zip container: torch.save writes its records stored (uncompressed), zip64 past 4 GiB.

struct Record
{
  std::uint64_t offset = 0, size = 0;
};

class ZipReader
{
public:
  ZipReader(const std::string &data, std::string file)
    : m_data(data)
    , m_file(std::move(file))
  {}

  std::map<std::string, Record> records() const
  {
    std::uint64_t count = 0, directory = 0;
    locateDirectory(count, directory);
    if (count > m_data.size() / 46)
      throw fail("the central directory lists more entries than the file can hold");
    std::map<std::string, Record> out;
    std::uint64_t at = directory;
    for (std::uint64_t i = 0; i < count; ++i)
      at = readEntry(at, out);
    return out;
  }

private:
  Error fail(const std::string &what) const
  {
    return Error(m_file + ": not a readable torch.save file: " + what);
  }

  std::uint64_t le(std::uint64_t at, int n) const
  {
    if (at > m_data.size() || static_cast<std::uint64_t>(n) > m_data.size() - at)
      throw fail("truncated (a zip structure at byte " + std::to_string(at) + " runs past the end)");
    std::uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k)
      v = (v << 8) | static_cast<unsigned char>(m_data[at + static_cast<std::uint64_t>(k)]);
    return v;
  }

  void locateDirectory(std::uint64_t &count, std::uint64_t &directory) const
  {
    if (m_data.size() < 22)
      throw fail("too short to be a zip file");
    std::uint64_t end = m_data.size() - 22;
    const std::uint64_t lowest = end > 65535 ? end - 65535 : 0; // the comment is at most 64 KiB
    while (le(end, 4) != 0x06054b50) {
      if (end == lowest)
        throw fail("no zip end record (truncated, or saved in the legacy pre-1.6 format: re-save it "
                   "with torch.save or convert it to model.safetensors)");
      --end;
    }
    count = le(end + 10, 2);
    directory = le(end + 16, 4);
    if (count == 0xFFFF || directory == 0xFFFFFFFF) { // zip64: the locator sits just before
      if (end < 20 || le(end - 20, 4) != 0x07064b50)
        throw fail("the zip64 end record is missing");
      const std::uint64_t z = le(end - 20 + 8, 8);
      if (le(z, 4) != 0x06064b50)
        throw fail("the zip64 end record at byte " + std::to_string(z) + " is damaged");
      count = le(z + 32, 8);
      directory = le(z + 48, 8);
    }
  }

  std::uint64_t readEntry(std::uint64_t at, std::map<std::string, Record> &out) const
  {
    if (le(at, 4) != 0x02014b50)
      throw fail("the central directory entry at byte " + std::to_string(at) + " is damaged");
    const std::uint64_t method = le(at + 10, 2), nameLength = le(at + 28, 2), extraLength = le(at + 30, 2),
                        commentLength = le(at + 32, 2);
    std::uint64_t packed = le(at + 20, 4), size = le(at + 24, 4), local = le(at + 42, 4);
    if (nameLength > m_data.size() - at - 46)
      throw fail("an entry's name runs past the end of the file");
    const std::string name = m_data.substr(at + 46, nameLength);
    for (std::uint64_t p = at + 46 + nameLength; p + 4 <= at + 46 + nameLength + extraLength;) {
      const std::uint64_t id = le(p, 2), length = le(p + 2, 2);
      std::uint64_t q = p + 4;
      if (id == 1) { // zip64 sizes and offset, each present only where the short field is full
        for (std::uint64_t *field : {&size, &packed, &local})
          if (*field == 0xFFFFFFFF) {
            *field = le(q, 8);
            q += 8;
          }
      }
      p += 4 + length;
    }
    if (method != 0)
      throw fail("record \"" + name + "\" is compressed (method " + std::to_string(method) +
                 "); torch.save stores its records uncompressed");
    if (packed != size)
      throw fail("record \"" + name + "\" has two different sizes");
    if (le(local, 4) != 0x04034b50)
      throw fail("the local header of record \"" + name + "\" is damaged");
    const std::uint64_t begin = local + 30 + le(local + 26, 2) + le(local + 28, 2);
    if (begin > m_data.size() || size > m_data.size() - begin)
      throw fail("record \"" + name + "\" runs past the end of the file (truncated?)");
    out[name] = {begin, size};
    return at + 46 + nameLength + extraLength + commentLength;
  }

  const std::string &m_data;
  std::string m_file;
};

// ---------------------------------------------------------------------------------------------
// The pickle machine: the opcodes of protocols 2-4 that a state dict's pickle uses, nothing that
// builds arbitrary objects.

struct StorageInfo
{
  std::string key;
  torch::Dtype dtype = torch::kFloat32;
  std::int64_t elementBytes = 4;
  std::int64_t numel = 0;
};

struct Obj;
using Ref = std::shared_ptr<Obj>;

struct Obj
{
  enum class Kind {
    None,
    Bool,
    Int,
    Float,
    Str,
    Tuple,
    List,
    Dict,
    Global,
    Storage,
    Tensor
  } kind = Kind::None;
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

Ref make(Obj::Kind kind)
{
  auto o = std::make_shared<Obj>();
  o->kind = kind;
  return o;
}

struct StorageType
{
  const char *name;
  torch::Dtype dtype;
  int bytes;
};

const StorageType kStorageTypes[] = {
    {"torch FloatStorage", torch::kFloat32, 4},     {"torch HalfStorage", torch::kFloat16, 2},
    {"torch BFloat16Storage", torch::kBFloat16, 2}, {"torch DoubleStorage", torch::kFloat64, 8},
    {"torch LongStorage", torch::kInt64, 8},        {"torch IntStorage", torch::kInt32, 4},
    {"torch ShortStorage", torch::kInt16, 2},       {"torch CharStorage", torch::kInt8, 1},
    {"torch ByteStorage", torch::kUInt8, 1},        {"torch BoolStorage", torch::kBool, 1},
};

class PickleMachine
{
public:
  PickleMachine(const std::string &data, Record pickle, std::string where)
    : m_data(data)
    , m_at(pickle.offset)
    , m_end(pickle.offset + pickle.size)
    , m_begin(pickle.offset)
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
  Error fail(const std::string &what) const
  {
    return Error(m_where + " at byte " + std::to_string(m_op - m_begin) + ": " + what);
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
    std::string s = m_data.substr(m_at, n);
    m_at += n;
    return s;
  }
  std::string takeLine()
  {
    const std::size_t nl = m_data.find('\n', m_at);
    if (nl == std::string::npos || nl >= m_end || nl - m_at > 256)
      throw fail("a GLOBAL name is not a line of at most 256 bytes");
    std::string s = m_data.substr(m_at, nl - m_at);
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

  void pushInt(std::int64_t v)
  {
    Ref r = make(Obj::Kind::Int);
    r->i = v;
    push(r);
  }
  void pushStr(std::string s, Obj::Kind kind = Obj::Kind::Str)
  {
    Ref r = make(kind);
    r->s = std::move(s);
    push(r);
  }
  void pushTuple(std::vector<Ref> items)
  {
    Ref r = make(Obj::Kind::Tuple);
    r->items = std::move(items);
    push(r);
  }
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

  void step(unsigned char code)
  {
    switch (code) {
    case 0x80:
      take(1);
      return; // PROTO
    case 0x95:
      take(8);
      return; // FRAME
    case '(':
      m_marks.push_back(m_stack.size());
      return;
    case 'N':
      push(make(Obj::Kind::None));
      return;
    case 0x88:
    case 0x89: { // NEWTRUE, NEWFALSE
      Ref r = make(Obj::Kind::Bool);
      r->i = code == 0x88;
      push(r);
      return;
    }
    case 'K':
      pushInt(static_cast<std::int64_t>(take(1)));
      return;
    case 'M':
      pushInt(static_cast<std::int64_t>(take(2)));
      return;
    case 'J':
      pushInt(static_cast<std::int32_t>(take(4)));
      return;
    case 0x8a:
      pushInt(signedLong(take(1)));
      return;   // LONG1
    case 'G': { // BINFLOAT, big-endian
      std::uint64_t bits = 0;
      for (int k = 0; k < 8; ++k)
        bits = (bits << 8) | take(1);
      Ref r = make(Obj::Kind::Float);
      std::memcpy(&r->f, &bits, sizeof bits);
      push(r);
      return;
    }
    case 'X':
      pushStr(takeBytes(take(4)));
      return; // BINUNICODE
    case 0x8c:
      pushStr(takeBytes(take(1)));
      return; // SHORT_BINUNICODE
    case 0x8d:
      pushStr(takeBytes(take(8)));
      return; // BINUNICODE8
    case 'T':
    case 'B':
      pushStr(takeBytes(take(4)));
      return; // BINSTRING, BINBYTES
    case 'U':
    case 'C':
      pushStr(takeBytes(take(1)));
      return; // SHORT_BINSTRING, SHORT_BINBYTES
    case ')':
      pushTuple({});
      return;
    case 't':
      pushTuple(popMark());
      return;
    case 0x85:
    case 0x86:
    case 0x87: { // TUPLE1-3
      std::vector<Ref> items(static_cast<std::size_t>(code - 0x84));
      for (auto it = items.rbegin(); it != items.rend(); ++it)
        *it = pop();
      pushTuple(std::move(items));
      return;
    }
    case ']':
      push(make(Obj::Kind::List));
      return;
    case 'l': {
      Ref r = make(Obj::Kind::List);
      r->items = popMark();
      push(r);
      return;
    }
    case 'a': {
      Ref v = pop();
      expect(top(), Obj::Kind::List, "a list to append to")->items.push_back(v);
      return;
    }
    case 'e': {
      std::vector<Ref> items = popMark();
      Ref list = expect(top(), Obj::Kind::List, "a list to append to");
      list->items.insert(list->items.end(), items.begin(), items.end());
      return;
    }
    case '}':
      push(make(Obj::Kind::Dict));
      return;
    case 'd': {
      Ref r = make(Obj::Kind::Dict);
      addPairs(r, popMark());
      push(r);
      return;
    }
    case 's': {
      Ref v = pop(), k = pop();
      addPairs(top(), {k, v});
      return;
    }
    case 'u': {
      std::vector<Ref> items = popMark();
      addPairs(top(), std::move(items));
      return;
    }
    case 'q':
      memoPut(take(1));
      return; // BINPUT
    case 'r':
      memoPut(take(4));
      return; // LONG_BINPUT
    case 0x94:
      memoPut(m_memo.size());
      return; // MEMOIZE
    case 'h':
      memoGet(take(1));
      return; // BINGET
    case 'j':
      memoGet(take(4));
      return; // LONG_BINGET
    case '0':
      pop();
      return; // POP
    case '1':
      popMark();
      return; // POP_MARK
    case '2':
      push(top());
      return;   // DUP
    case 'c': { // GLOBAL
      std::string module = takeLine();
      pushStr(module + " " + takeLine(), Obj::Kind::Global);
      return;
    }
    case 0x93: { // STACK_GLOBAL
      Ref name = expect(pop(), Obj::Kind::Str, "a global's name");
      Ref module = expect(pop(), Obj::Kind::Str, "a global's module");
      pushStr(module->s + " " + name->s, Obj::Kind::Global);
      return;
    }
    case 'Q':
      push(persistent(pop()));
      return;   // BINPERSID
    case 'R': { // REDUCE
      Ref args = expect(pop(), Obj::Kind::Tuple, "a tuple of arguments");
      Ref callable = expect(pop(), Obj::Kind::Global, "a callable global");
      push(call(callable->s, args->items));
      return;
    }
    case 'b': { // BUILD: a dictionary's or tensor's extra state, unused
      pop();
      const Obj::Kind kind = top()->kind;
      if (kind != Obj::Kind::Dict && kind != Obj::Kind::Tensor)
        throw fail("BUILD on something that is neither a dictionary nor a tensor");
      return;
    }
    default: {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", code);
      throw fail(std::string("opcode ") + hex + " is not part of a state dict's pickle");
    }
    }
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

  const std::string &m_data;
  std::uint64_t m_at, m_end, m_begin, m_op = 0;
  std::string m_where;
  std::vector<Ref> m_stack;
  std::vector<std::size_t> m_marks;
  std::unordered_map<std::uint64_t, Ref> m_memo;
};

} // namespace

TensorMap readTorchPickle(const fs::path &path)
{
  const std::string file = path.string();
  const std::string data = readInputFile(path, "a PyTorch checkpoint");
  const std::map<std::string, Record> records = ZipReader(data, file).records();
  std::string prefix;
  const Record *pickle = nullptr;
  for (const auto &[name, record] : records)
    if (name.size() >= 8 && name.compare(name.size() - 8, 8, "data.pkl") == 0 &&
        (name.size() == 8 || name[name.size() - 9] == '/')) {
      prefix = name.substr(0, name.size() - 8);
      pickle = &record;
      break;
    }
  if (!pickle)
    throw Error(file + ": not a torch.save file: it holds no data.pkl");
  const auto order = records.find(prefix + "byteorder");
  if (order != records.end() && data.compare(order->second.offset, order->second.size, "little") != 0)
    throw Error(file + ": saved on a big-endian machine; tunebench reads little-endian checkpoints");
  const Ref root = PickleMachine(data, *pickle, file + " (" + prefix + "data.pkl)").run();
  if (!root || root->kind != Obj::Kind::Dict)
    throw Error(file + ": expected a state dict (a dictionary of tensors)");

  std::map<std::string, torch::Tensor> storages;
  TensorMap out;
  for (const auto &[key, value] : root->dict) {
    if (key->kind != Obj::Kind::Str || value->kind != Obj::Kind::Tensor)
      continue;
    const StorageInfo &s = value->tensorStorage->storage;
    auto it = storages.find(s.key);
    if (it == storages.end()) {
      const auto record = records.find(prefix + "data/" + s.key);
      if (record == records.end())
        throw Error(file + ": tensor \"" + key->s + "\" uses storage \"" + s.key +
                    "\", which the file lacks");
      std::int64_t bytes = 0;
      if (__builtin_mul_overflow(s.numel, s.elementBytes, &bytes) ||
          static_cast<std::uint64_t>(bytes) != record->second.size)
        throw Error(file + ": storage \"" + s.key + "\" should hold " + std::to_string(s.numel) +
                    " elements of " + std::to_string(s.elementBytes) + " bytes but its record has " +
                    std::to_string(record->second.size) + " bytes");
      torch::Tensor t = torch::empty({s.numel}, torch::TensorOptions().dtype(s.dtype));
      if (record->second.size)
        std::memcpy(t.data_ptr(), data.data() + record->second.offset, record->second.size);
      it = storages.emplace(s.key, t).first;
    } else if (it->second.scalar_type() != s.dtype || it->second.numel() != s.numel) {
      throw Error(file + ": storage \"" + s.key + "\" is referred to with two different types or sizes");
    }
    out.emplace(key->s, it->second.as_strided(value->sizes, value->strides, value->offset));
  }
  return out;
}

} // namespace tunebench
