#include "echoic/index/file_io.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "echoic/runtime/error.h"

namespace echoic::index {

MappedFile::MappedFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    Fail(e == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo, "cannot open index file '", path,
         "': ", std::strerror(e));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    Fail(ErrorCode::kIo, "cannot stat '", path, "': ", std::strerror(e));
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      Fail(ErrorCode::kIo, "cannot mmap '", path, "': ", std::strerror(e));
    }
    data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);  // the mapping keeps the file alive
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

File::File(const std::string& path, int flags, int mode) : path_(path) {
  fd_ = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd_ < 0) {
    int e = errno;
    Fail(e == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo, "cannot open '", path, "': ", std::strerror(e));
  }
}

File::~File() { Close(); }

File::File(File&& o) noexcept : path_(std::move(o.path_)), fd_(o.fd_) { o.fd_ = -1; }

File& File::operator=(File&& o) noexcept {
  if (this != &o) {
    Close();
    path_ = std::move(o.path_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

void File::WriteAll(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t w = ::write(fd_, p, size);
    if (w < 0) {
      if (errno == EINTR) continue;
      Fail(ErrorCode::kIo, "write to '", path_, "' failed: ", std::strerror(errno));
    }
    p += w;
    size -= static_cast<size_t>(w);
  }
}

void File::Sync() {
  if (::fsync(fd_) != 0) Fail(ErrorCode::kIo, "fsync of '", path_, "' failed: ", std::strerror(errno));
}

void File::Truncate(uint64_t size) {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
    Fail(ErrorCode::kIo, "truncate of '", path_, "' failed: ", std::strerror(errno));
}

uint64_t File::Size() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) Fail(ErrorCode::kIo, "cannot stat '", path_, "': ", std::strerror(errno));
  return static_cast<uint64_t>(st.st_size);
}

bool File::TryLockExclusive() { return ::flock(fd_, LOCK_EX | LOCK_NB) == 0; }

void File::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) Fail(ErrorCode::kIo, "cannot open directory '", dir, "': ", std::strerror(errno));
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) Fail(ErrorCode::kIo, "fsync of directory '", dir, "' failed: ", std::strerror(e));
}

void AtomicReplace(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    Fail(ErrorCode::kIo, "cannot rename '", from, "' to '", to, "': ", std::strerror(errno));
  SyncDir(DirName(to));
}

void RemoveIfExists(const std::string& path) { ::unlink(path.c_str()); }

}  // namespace echoic::index
