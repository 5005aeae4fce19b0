// POSIX file helpers for the index: read-only mmap, full writes, fsync of files
// and directories, atomic replace. All failures are kIo errors naming the path.
#ifndef ECHOIC_INDEX_FILE_IO_H_
#define ECHOIC_INDEX_FILE_IO_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace echoic::index {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);  // kIo / kNotFound
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Owns a file descriptor.
class File {
 public:
  File() = default;
  File(const std::string& path, int flags, int mode = 0644);  // kIo on failure
  ~File();
  File(File&& o) noexcept;
  File& operator=(File&& o) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  int fd() const { return fd_; }
  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  void WriteAll(const void* data, size_t size);
  void Sync();  // fsync
  void Truncate(uint64_t size);
  uint64_t Size() const;
  bool TryLockExclusive();  // flock, non-blocking
  void Close();

 private:
  std::string path_;
  int fd_ = -1;
};

bool PathExists(const std::string& path);
std::string DirName(const std::string& path);
void SyncDir(const std::string& dir);
// rename(from, to) then fsync the directory so the rename itself is durable.
void AtomicReplace(const std::string& from, const std::string& to);
void RemoveIfExists(const std::string& path);

}  // namespace echoic::index

#endif  // ECHOIC_INDEX_FILE_IO_H_
