#pragma once
// cAdvisor's MachineInfo (google/cadvisor info/v1/machine.go), served on /spec/ with cAdvisor's
// JSON field names. Gathered from /proc and /sys once at start: nothing in it changes while the
// machine is up except filesystem capacities, which RefreshFilesystems() re-reads cheaply
// (statvfs).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "util/clock.h"

namespace nanolet::node {

struct FsInfo {
  std::string device;      // /dev/vda1
  std::string mountpoint;  // not in cAdvisor's JSON; used to refresh capacities
  uint64_t capacity = 0;   // bytes
  std::string type;        // ext4, xfs, ...
  uint64_t inodes = 0;
  bool has_inodes = false;
};

struct HugePagesInfo {
  uint64_t page_size = 0;  // kB, as cAdvisor
  uint64_t num_pages = 0;
};

struct DiskInfo {
  std::string name;
  uint64_t major = 0, minor = 0;
  uint64_t size = 0;  // bytes
  std::string scheduler;
};

struct NetInfo {
  std::string name;
  std::string mac_address;
  int64_t speed = 0;  // Mbit/s; 0 when unknown
  int64_t mtu = 0;
};

struct Cache {
  int id = 0;
  uint64_t size = 0;  // bytes
  std::string type;   // Data, Instruction, Unified
  int level = 0;
};

struct Core {
  int core_id = 0;
  std::vector<int> thread_ids;
  std::vector<Cache> caches;  // per-core caches (L1, L2)
  int socket_id = 0;
};

struct NumaNode {
  int node_id = 0;
  uint64_t memory = 0;  // bytes
  std::vector<HugePagesInfo> hugepages;
  std::vector<Core> cores;
  std::vector<Cache> caches;  // shared caches (L3)
};

struct MachineInfo {
  TimePoint timestamp;
  std::string vendor_id;
  int num_cores = 0;  // logical CPUs online
  int num_physical_cores = 0;
  int num_sockets = 0;
  uint64_t cpu_frequency_khz = 0;
  uint64_t memory_capacity = 0;  // bytes
  uint64_t swap_capacity = 0;
  std::vector<HugePagesInfo> hugepages;
  std::string machine_id;
  std::string system_uuid;  // "" when the DMI uuid is unreadable (containers, some VMs)
  std::string boot_id;
  std::vector<FsInfo> filesystems;
  std::map<std::string, DiskInfo> disk_map;  // "major:minor"
  std::vector<NetInfo> network_devices;
  std::vector<NumaNode> topology;
  std::string cloud_provider = "Unknown";
  std::string instance_type = "Unknown";
  std::string instance_id = "None";
};

// Reads the machine under `root` ("/" normally; a fake tree in tests: ROOT/proc/..., ROOT/sys/...,
// ROOT/etc/machine-id). Never fails: what cannot be read stays zero/empty.
MachineInfo GatherMachineInfo(const std::string& root = "/");

// Re-reads filesystem capacities and inode counts (statvfs on each mount point).
void RefreshFilesystems(MachineInfo& info);

// cAdvisor's JSON: num_cores, num_physical_cores, num_sockets, cpu_frequency_khz, memory_capacity,
// swap_capacity, memory_by_type, hugepages, machine_id, system_uuid, boot_id, filesystems,
// disk_map, network_devices, topology, cloud_provider, instance_type, instance_id, timestamp,
// vendor_id.
nlohmann::json ToJson(const MachineInfo& info);

}  // namespace nanolet::node
