// pytorch_model.bin through tunebench's own torch.save reader: a file built here opcode by opcode
// (the layout Python's torch.save writes, as pickletools shows it for tests/golden's BERT) reads
// back exactly, and every crafted or damaged variant is refused with a message naming the file —
// among them the two that crashed LibTorch's unpickler: REDUCE on an empty stack (a segfault) and
// a view past its storage (heap bytes read as weights).
#include "core/models/checkpoint.h"
#include "core/models/torchpickle.h"
#include "core/util/error.h"

#include <torch/torch.h>

#include <QtTest/QtTest>

#include <fstream>

using namespace tunebench;

namespace {

std::string le(std::uint64_t v, int n)
{
  std::string s;
  for (int k = 0; k < n; ++k, v >>= 8)
    s += static_cast<char>(v & 0xff);
  return s;
}

struct ZipFile
{
  std::string name, data;
  int method = 0;
};

// A zip of stored records, as torch.save writes one (CRCs are not read, so they are left 0).
std::string zip(const std::vector<ZipFile> &files)
{
  std::string out, directory;
  for (const ZipFile &f : files) {
    const std::uint64_t local = out.size();
    out += le(0x04034b50, 4) + le(20, 2) + le(0, 2) + le(static_cast<std::uint64_t>(f.method), 2) + le(0, 4) +
           le(0, 4) + le(f.data.size(), 4) + le(f.data.size(), 4) + le(f.name.size(), 2) + le(0, 2) + f.name +
           f.data;
    directory += le(0x02014b50, 4) + le(20, 2) + le(20, 2) + le(0, 2) +
                 le(static_cast<std::uint64_t>(f.method), 2) + le(0, 4) + le(0, 4) + le(f.data.size(), 4) +
                 le(f.data.size(), 4) + le(f.name.size(), 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 2) +
                 le(0, 4) + le(local, 4) + f.name;
  }
  const std::uint64_t at = out.size();
  return out + directory + le(0x06054b50, 4) + le(0, 4) + le(files.size(), 2) + le(files.size(), 2) +
         le(directory.size(), 4) + le(at, 4) + le(0, 2);
}

std::string unicode(const std::string &s)
{
  return "X" + le(s.size(), 4) + s;
}
std::string global(const std::string &module, const std::string &name)
{
  return "c" + module + "\n" + name + "\n";
}
std::string intOp(long v)
{
  return v < 256 ? "K" + le(static_cast<std::uint64_t>(v), 1) : "J" + le(static_cast<std::uint64_t>(v), 4);
}
std::string tuple(const std::vector<long> &v)
{
  std::string s = "(";
  for (long x : v)
    s += intOp(x);
  return s + "t";
}

// {name: _rebuild_tensor_v2(storage(key "0", numel), offset, sizes, strides, False, OrderedDict())}
struct Tensor
{
  std::string name = "w";
  std::string storageType = "FloatStorage";
  long numel = 6, offset = 0;
  std::vector<long> sizes{2, 3}, strides{3, 1};
  std::string callable = "_rebuild_tensor_v2";
};

std::string statePickle(const Tensor &t)
{
  return "\x80\x02}q" + le(0, 1) + "(" + unicode(t.name) + global("torch._utils", t.callable) + "(" + "(" +
         unicode("storage") + global("torch", t.storageType) + unicode("0") + unicode("cpu") +
         intOp(t.numel) + "tQ" + intOp(t.offset) + tuple(t.sizes) + tuple(t.strides) + "\x89" +
         global("collections", "OrderedDict") + ")RtRu.";
}

std::string floats(int n)
{
  std::string s;
  for (int i = 0; i < n; ++i) {
    const float f = static_cast<float>(i) + 0.5f;
    s.append(reinterpret_cast<const char *>(&f), sizeof f);
  }
  return s;
}

std::string checkpoint(const std::string &pickle, const std::string &storage = floats(6), int method = 0)
{
  return zip({{"archive/data.pkl", pickle, method},
              {"archive/byteorder", "little"},
              {"archive/data/0", storage},
              {"archive/version", "3\n"}});
}

} // namespace

class TestTorchPickle : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  // The layout torch.save writes reads back: values, shape, a strided view and an offset.
  void readsWhatTorchSaveWrites()
  {
    QTemporaryDir dir;
    const std::filesystem::path file = dir.filePath(QStringLiteral("pytorch_model.bin")).toStdString();
    Tensor t;
    t.numel = 8;
    t.offset = 2;
    t.sizes = {3, 2};
    t.strides = {1, 3}; // a transposed view
    std::ofstream(file, std::ios::binary) << checkpoint(statePickle(t), floats(8));
    const TensorMap m = readTorchPickle(file);
    QCOMPARE(m.size(), std::size_t(1));
    const torch::Tensor expected = (torch::arange(8, torch::kFloat32) + 0.5).as_strided({3, 2}, {1, 3}, 2);
    QVERIFY(torch::equal(m.at("w"), expected));
  }

  void craftedFilesAreRefused_data()
  {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("message");
    const auto row = [](const char *name, const std::string &bytes, const char *message) {
      QTest::newRow(name) << QByteArray::fromStdString(bytes) << QString::fromUtf8(message);
    };
    Tensor past;
    past.sizes = {100};
    past.strides = {1};
    Tensor offset;
    offset.offset = 1; // 2 x 3 from element 1 reaches element 6 of 6
    Tensor huge;
    huge.sizes = {1L << 30, 1L << 30};
    huge.strides = {1L << 30, 1};
    Tensor evil;
    evil.callable = "_rebuild_qtensor";
    Tensor storage;
    storage.storageType = "ComplexFloatStorage";
    row("REDUCE on an empty stack", checkpoint("\x80\x02R."), "does not hold");
    row("a view past its storage", checkpoint(statePickle(past)), "past its storage");
    row("an offset past its storage", checkpoint(statePickle(offset)), "past its storage");
    row("an overflowing view", checkpoint(statePickle(huge)), "past its storage");
    row("a global outside a state dict",
        checkpoint("\x80\x02" + global("os", "system") + unicode("true") + "\x85R."),
        "is not part of a state dict");
    row("an unknown tensor builder", checkpoint(statePickle(evil)), "is not part of a state dict");
    row("an unknown storage type", checkpoint(statePickle(storage)), "storage type");
    row("a memo read before written", checkpoint("\x80\x02h\x07."), "memo entry 7");
    row("SETITEMS without MARK", checkpoint("\x80\x02}u."), "MARK");
    const std::string whole = statePickle(Tensor());
    row("no STOP", checkpoint(whole.substr(0, whole.size() - 1)), "STOP");
    row("an operand past the end", checkpoint("\x80\x02X" + le(0xffff, 4) + "abc"), "past the end");
    row("an unknown opcode", checkpoint("\x80\x02\xff."), "opcode 0xff");
    row("a list at the top", checkpoint("\x80\x02]."), "expected a state dict");
    row("a storage record too short", checkpoint(statePickle(Tensor()), floats(5)), "should hold 6 elements");
    row("no storage record", zip({{"archive/data.pkl", statePickle(Tensor())}}), "lacks");
    row("a compressed record", checkpoint(statePickle(Tensor()), floats(6), 8), "compressed");
    row("truncated file", checkpoint(statePickle(Tensor())).substr(0, 120), "no zip end record");
    row("the legacy format", statePickle(Tensor()) + floats(6), "legacy"); // pickles, then raw storages
    row("no data.pkl", zip({{"archive/data/0", floats(6)}}), "no data.pkl");
    row("big-endian", zip({{"archive/data.pkl", statePickle(Tensor())}, {"archive/byteorder", "big"}}),
        "big-endian");
  }
  void craftedFilesAreRefused()
  {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, message);
    QTemporaryDir dir;
    const std::filesystem::path file = dir.filePath(QStringLiteral("pytorch_model.bin")).toStdString();
    std::ofstream(file, std::ios::binary) << bytes.toStdString();
    try {
      readCheckpoint(file.parent_path());
      QFAIL("a crafted file was read");
    } catch (const Error &e) {
      const QString text = QString::fromUtf8(e.what());
      QVERIFY2(text.contains(QString::fromStdString(file.string())) && text.contains(message), e.what());
    }
  }
};

QTEST_MAIN(TestTorchPickle)
#include "tst_torchpickle.moc"
