// CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320) for the index file and WAL.
#ifndef ECHOIC_INDEX_CRC32_H_
#define ECHOIC_INDEX_CRC32_H_

#include <cstddef>
#include <cstdint>

namespace echoic::index {

// Continues a running CRC: Crc32(b, n2, Crc32(a, n1)) == Crc32(a+b, n1+n2).
uint32_t Crc32(const void* data, size_t size, uint32_t crc = 0);

}  // namespace echoic::index

#endif  // ECHOIC_INDEX_CRC32_H_
