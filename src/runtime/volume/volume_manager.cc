#include "runtime/volume/volume_manager.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "util/fs.h"
#include "util/strings.h"

namespace nanolet::volume {

std::string PodDir(const std::string& root_dir, const std::string& pod_uid) {
  return root_dir + "/pods/" + pod_uid;
}

namespace {

bool IsMountPoint(const std::string& path) {
  struct stat st, parent;
  if (::lstat(path.c_str(), &st) != 0) return false;
  if (::lstat((path + "/..").c_str(), &parent) != 0) return false;
  return st.st_dev != parent.st_dev;
}

Result<void> CheckHostPathType(const std::string& path, const std::string& type) {
  struct stat st;
  bool exists = ::stat(path.c_str(), &st) == 0;
  auto want = [&](bool ok, const char* what) -> Result<void> {
    if (!exists) return NotFound("hostPath type check failed: " + path + " does not exist");
    if (!ok) return Invalid("hostPath type check failed: " + path + " is not a " + what);
    return Ok();
  };
  if (type.empty()) return Ok();
  if (type == "DirectoryOrCreate") {
    if (!exists) return MkdirAll(path, 0755);
    return want(S_ISDIR(st.st_mode), "directory");
  }
  if (type == "FileOrCreate") {
    if (!exists) {
      auto slash = path.find_last_of('/');
      if (slash != std::string::npos && slash > 0) RETURN_IF_ERROR(MkdirAll(path.substr(0, slash), 0755));
      int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0) return ErrnoError("create " + path);
      ::close(fd);
      return Ok();
    }
    return want(S_ISREG(st.st_mode), "file");
  }
  if (type == "Directory") return want(S_ISDIR(st.st_mode), "directory");
  if (type == "File") return want(S_ISREG(st.st_mode), "file");
  if (type == "Socket") return want(S_ISSOCK(st.st_mode), "socket");
  if (type == "CharDevice") return want(S_ISCHR(st.st_mode), "character device");
  if (type == "BlockDevice") return want(S_ISBLK(st.st_mode), "block device");
  return Invalid("hostPath: unsupported type " + type);
}

}  // namespace

Result<VolumePaths> SetUpPodVolumes(const std::string& root_dir, const api::Pod& pod) {
  VolumePaths out;
  std::string base = PodDir(root_dir, pod.metadata.uid) + "/volumes";
  for (const auto& v : pod.spec.volumes) {
    std::string ctx = "volume \"" + v.name + "\"";
    if (v.empty_dir) {
      std::string dir = base + "/kubernetes.io~empty-dir/" + v.name;
      RETURN_IF_ERROR_CTX(MkdirAll(dir, 0777), ctx);
      ::chmod(dir.c_str(), 0777);
      if (v.empty_dir->medium == "Memory" && !IsMountPoint(dir)) {
        std::string opts = "mode=0777";
        if (v.empty_dir->size_limit && v.empty_dir->size_limit->Value() > 0) {
          opts += ",size=" + std::to_string(v.empty_dir->size_limit->Value());
        }
        if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) != 0) {
          return ErrnoError("mount tmpfs").Wrap(ctx);
        }
      }
      out[v.name] = dir;
    } else if (v.host_path) {
      RETURN_IF_ERROR_CTX(CheckHostPathType(v.host_path->path, v.host_path->type.value_or("")), ctx);
      out[v.name] = v.host_path->path;
    } else {
      // Volume kinds of issue 5 (configMap, secret, downwardAPI, projected) and PVCs: mounting a container
      // that uses one fails with a clear error; pods that merely declare one still run.
      continue;
    }
  }
  return out;
}

Result<std::vector<runtime::Mount>> ContainerMounts(const api::Pod& pod, const api::Container& c,
                                                    const VolumePaths& volumes) {
  std::vector<runtime::Mount> out;
  for (const auto& m : c.volume_mounts) {
    auto it = volumes.find(m.name);
    if (it == volumes.end()) {
      return Invalid("volume \"" + m.name + "\" of mount " + m.mount_path + " is not supported yet");
    }
    runtime::Mount rm;
    rm.container_path = m.mount_path;
    rm.host_path = it->second;
    rm.readonly = m.read_only;
    if (m.mount_propagation) {
      if (*m.mount_propagation == "HostToContainer") rm.propagation = "rslave";
      if (*m.mount_propagation == "Bidirectional") rm.propagation = "rshared";
    }
    if (!m.sub_path.empty()) {
      // The subPath must stay inside the volume even through symlinks (CVE-2017-1002101): resolve it and
      // check the result is below the volume's real path.
      std::string candidate = CleanPath(it->second + "/" + m.sub_path);
      char real_base[PATH_MAX], real_sub[PATH_MAX];
      if (!::realpath(it->second.c_str(), real_base)) return ErrnoError("resolve volume " + m.name);
      if (!PathExists(candidate)) RETURN_IF_ERROR(MkdirAll(candidate, 0755));
      if (!::realpath(candidate.c_str(), real_sub)) return ErrnoError("resolve subPath " + m.sub_path);
      if (!IsWithin(real_base, real_sub)) {
        return Invalid("subPath " + m.sub_path + " of volume \"" + m.name + "\" resolves outside the volume");
      }
      rm.host_path = real_sub;
    }
    out.push_back(rm);
  }
  return out;
}

Result<void> TearDownPodVolumes(const std::string& root_dir, const std::string& pod_uid) {
  std::string dir = PodDir(root_dir, pod_uid);
  std::string ed = dir + "/volumes/kubernetes.io~empty-dir";
  if (auto names = ListDir(ed); names.ok()) {
    for (const auto& n : *names) {
      std::string p = ed + "/" + n;
      if (IsMountPoint(p) && ::umount2(p.c_str(), MNT_DETACH) != 0) return ErrnoError("unmount " + p);
    }
  }
  return RemoveAll(dir);
}

}  // namespace nanolet::volume
