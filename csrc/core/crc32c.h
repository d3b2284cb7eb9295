// CRC32C (Castagnoli, reflected polynomial 0x82F63B78, init and final xor 0xFFFFFFFF), the CRC
// Amanda computes all along its pipelines and stores as "%08x:%d" (crc:size).
// Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run time) on three
// interleaved streams combined with zero-shift tables, otherwise a slicing-by-8 table
// (XFA_CRC32C_KERNEL=table forces it, for tests). Pure functions; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace xfa {

// Running state: start with crc32c_init(), feed with crc32c_update(), end with crc32c_final().
constexpr uint32_t crc32c_init() { return 0xFFFFFFFFu; }
uint32_t crc32c_update(uint32_t state, const void* data, size_t n);
constexpr uint32_t crc32c_final(uint32_t state) { return state ^ 0xFFFFFFFFu; }
inline uint32_t crc32c(const void* data, size_t n) { return crc32c_final(crc32c_update(crc32c_init(), data, n)); }
bool crc32c_hardware();

// "9a71bb4c"
std::string crc_hex(uint32_t crc);

}  // namespace xfa
