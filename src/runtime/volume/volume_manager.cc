#include "runtime/volume/volume_manager.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>

#include "runtime/volume/atomic_writer.h"
#include "runtime/volume/projection.h"
#include "runtime/volume/subpath.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

namespace nanolet::volume {

std::string PodDir(const std::string& root_dir, const std::string& pod_uid) {
  return root_dir + "/pods/" + pod_uid;
}

namespace volume_manager_detail {

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
      if (slash != std::string::npos && slash > 0)
        RETURN_IF_ERROR(MkdirAll(path.substr(0, slash), 0755));
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

Result<void> MountTmpfs(const std::string& dir, const std::string& opts) {
  if (IsMountPoint(dir)) return Ok();
  if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) != 0) {
    return ErrnoError("mount tmpfs on " + dir);
  }
  return Ok();
}

bool IsApiDataVolume(const api::Volume& v) {
  return v.config_map || v.secret || v.downward_api || v.projected;
}

const char* PluginDir(const api::Volume& v) {
  if (v.config_map) return "kubernetes.io~configmap";
  if (v.secret) return "kubernetes.io~secret";
  if (v.downward_api) return "kubernetes.io~downward-api";
  return "kubernetes.io~projected";
}

std::optional<int64_t> FsGroup(const api::Pod& pod) {
  return pod.spec.security_context ? pod.spec.security_context->fs_group : std::nullopt;
}

// As upstream volume_linux.go: rw 0660 (emptyDir) or ro 0440 (the API data volumes, whose
// attributes say ReadOnly), directories also 0110 and setgid.
constexpr mode_t kOwnershipRwMask = 0660, kOwnershipRoMask = 0440, kOwnershipExecMask = 0110;

// As upstream changeFilePermission, one entry below `dirfd`: the group becomes fsGroup (symlinks
// themselves included), the mode gains the mask (never through a symlink: entries are opened with
// O_NOFOLLOW and changed through their descriptor, so a container swapping in a symlink cannot
// redirect the change). Errors are logged and skipped, as upstream.
void ChangeOwnership(int dirfd, const std::string& name, const std::string& shown, gid_t gid,
                     mode_t mask, int depth);

void OwnershipWarn(const std::string& path, const char* op) {
  log::Warn("volume ownership change failed",
            {{"path", path}, {"op", op}, {"error", std::strerror(errno)}});
}

void ChangeOwnershipFd(int fd, const std::string& shown, gid_t gid, mode_t mask, bool dir,
                       int depth) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return OwnershipWarn(shown, "stat");
  if (::fchown(fd, static_cast<uid_t>(-1), gid) != 0) OwnershipWarn(shown, "chown");
  mode_t m = (st.st_mode & 07777) | mask | (dir ? (S_ISGID | kOwnershipExecMask) : 0);
  if (::fchmod(fd, m) != 0) OwnershipWarn(shown, "chmod");
  if (!dir) return;
  if (depth > 64) return;  // deeper trees are not worth a stack
  int dup_fd = ::dup(fd);
  DIR* d = dup_fd < 0 ? nullptr : ::fdopendir(dup_fd);
  if (!d) {
    if (dup_fd >= 0) ::close(dup_fd);
    return OwnershipWarn(shown, "opendir");
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  for (const auto& n : names) ChangeOwnership(fd, n, shown + "/" + n, gid, mask, depth + 1);
}

void ChangeOwnership(int dirfd, const std::string& name, const std::string& shown, gid_t gid,
                     mode_t mask, int depth) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return OwnershipWarn(shown, "stat");
  if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
    int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    UniqueFd fd(::openat(dirfd, name.c_str(), flags | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0)));
    if (!fd.valid()) return OwnershipWarn(shown, "open");
    ChangeOwnershipFd(fd.get(), shown, gid, mask, S_ISDIR(st.st_mode), depth);
    return;
  }
  // Symlinks (their mode means nothing, as upstream: only the group changes), fifos, sockets.
  if (::fchownat(dirfd, name.c_str(), static_cast<uid_t>(-1), gid, AT_SYMLINK_NOFOLLOW) != 0)
    OwnershipWarn(shown, "chown");
}

// As upstream SetVolumeOwnership: with fsGroupChangePolicy OnRootMismatch, nothing is done when
// the root already has the group, the mask bits and setgid (requiresPermissionChange); otherwise
// the whole tree is changed.
void SetVolumeOwnership(const std::string& dir, int64_t fs_group, bool readonly,
                        bool on_root_mismatch) {
  mode_t mask = readonly ? kOwnershipRoMask : kOwnershipRwMask;
  auto gid = static_cast<gid_t>(fs_group);
  UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root.valid()) return OwnershipWarn(dir, "open");
  if (on_root_mismatch) {
    struct stat st;
    mode_t want = mask | kOwnershipExecMask;
    if (::fstat(root.get(), &st) == 0 && st.st_gid == gid && (st.st_mode & want) == want &&
        (st.st_mode & S_ISGID)) {
      return;
    }
  }
  ChangeOwnershipFd(root.get(), dir, gid, mask, true, 0);
}

// configMap, secret, downwardAPI, projected: the payload written atomically into the volume
// directory.
Result<void> SetUpApiDataVolume(const std::string& dir, const api::Pod& pod, const api::Volume& v,
                                const ObjectProvider* objects) {
  RETURN_IF_ERROR(MkdirAll(dir, 0755));
  bool fresh = !PathExists(dir + "/..data");
  // Secrets (and projected volumes, which may hold some) never touch the disk, as upstream.
  if (v.secret || v.projected) RETURN_IF_ERROR(MountTmpfs(dir, "mode=0755"));
  std::vector<std::string> notes;
  ASSIGN_OR_RETURN(Payload payload, VolumePayload(pod, v, objects, &notes));
  auto fs_group = FsGroup(pod);
  // The ownership change below adds the read-only mask to every file; the payload says so too,
  // so that the writer does not see a difference (and rewrite) on the next sync.
  if (fs_group) {
    for (auto& [path, f] : payload) f.mode |= kOwnershipRoMask;
  }
  if (fresh) {
    for (const auto& n : notes) {
      log::Warn("volume source skipped",
                {{"pod", pod.metadata.namespace_ + "/" + pod.metadata.name},
                 {"volume", v.name},
                 {"reason", n}});
    }
  }
  ASSIGN_OR_RETURN(bool changed, WritePayload(dir, payload));
  // As upstream (configMap, secret, downwardAPI and projected SetUpAt): the whole volume, always
  // (these plugins pass no change policy), whenever its content was (re)written.
  if (fs_group && (changed || fresh)) SetVolumeOwnership(dir, *fs_group, true, false);
  if (changed && !fresh) {
    log::Info("volume updated",
              {{"pod", pod.metadata.namespace_ + "/" + pod.metadata.name}, {"volume", v.name}});
  }
  return Ok();
}

// Mount points below `dir` (from /proc/self/mountinfo), deepest first.
std::vector<std::string> MountsBelow(const std::string& dir) {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // Fields: id parent major:minor root mount-point ...; the mount point escapes ' ', '\t', '\n',
    // '\\' as octal.
    size_t pos = 0;
    for (int i = 0; i < 4 && pos != std::string::npos; ++i) pos = line.find(' ', pos + 1);
    if (pos == std::string::npos) continue;
    size_t end = line.find(' ', pos + 1);
    std::string raw =
        line.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
    std::string mp;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 3 < raw.size()) {
        mp.push_back(static_cast<char>(std::strtol(raw.substr(i + 1, 3).c_str(), nullptr, 8)));
        i += 3;
      } else {
        mp.push_back(raw[i]);
      }
    }
    if (IsWithin(dir, mp) && mp != dir) out.push_back(mp);
  }
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

}  // namespace volume_manager_detail

using namespace volume_manager_detail;

Result<VolumePaths> SetUpPodVolumes(const std::string& root_dir, const api::Pod& pod,
                                    const ObjectProvider* objects) {
  VolumePaths out;
  std::string base = PodDir(root_dir, pod.metadata.uid) + "/volumes";
  for (const auto& v : pod.spec.volumes) {
    std::string ctx = "MountVolume.SetUp failed for volume \"" + v.name + "\" ";
    if (v.empty_dir) {
      std::string dir = base + "/kubernetes.io~empty-dir/" + v.name;
      bool fresh = !PathExists(dir);
      RETURN_IF_ERROR_CTX(MkdirAll(dir, 0777), ctx);
      // As upstream setupDir: only the permission bits are compared (fsGroup's setgid stays).
      if (struct stat st; ::stat(dir.c_str(), &st) == 0 && (st.st_mode & 0777) != 0777)
        ::chmod(dir.c_str(), 0777);
      if (v.empty_dir->medium == "Memory") {
        std::string opts = "mode=0777";
        if (v.empty_dir->size_limit && v.empty_dir->size_limit->Value() > 0) {
          opts += ",size=" + std::to_string(v.empty_dir->size_limit->Value());
        }
        fresh |= !IsMountPoint(dir);
        RETURN_IF_ERROR_CTX(MountTmpfs(dir, opts), ctx);
      }
      // As upstream emptyDir SetUpAt: the ownership is set up with the volume (once; the
      // containers own the content afterwards).
      if (auto g = FsGroup(pod); g && fresh) {
        const auto& sc = pod.spec.security_context;
        SetVolumeOwnership(dir, *g, false, sc->fs_group_change_policy == "OnRootMismatch");
      }
      out[v.name] = dir;
    } else if (v.host_path) {
      RETURN_IF_ERROR_CTX(CheckHostPathType(v.host_path->path, v.host_path->type.value_or("")),
                          ctx);
      out[v.name] = v.host_path->path;
    } else if (IsApiDataVolume(v)) {
      std::string dir = base + "/" + PluginDir(v) + "/" + v.name;
      bool was_set_up = PathExists(dir + "/..data");
      auto r = SetUpApiDataVolume(dir, pod, v, objects);
      if (!r.ok()) {
        if (!was_set_up) return std::move(r).error().Wrap(ctx);
        // As upstream's periodic remount: the containers keep the last good content.
        log::Warn("volume update failed, keeping its content",
                  {{"pod", pod.metadata.namespace_ + "/" + pod.metadata.name},
                   {"volume", v.name},
                   {"error", r.error().message()}});
      }
      out[v.name] = dir;
    } else {
      // PVCs and other sources: mounting a container that uses one fails with a clear error; pods
      // that merely declare one still run.
      continue;
    }
  }
  return out;
}

Result<std::string> ExpandSubPathExpr(const std::string& expr, const EnvList& env) {
  std::map<std::string, std::string> vars;
  for (const auto& [k, v] : env) vars[k] = v;  // the last definition wins, as upstream's map
  std::set<std::string> missing;
  std::string out;
  // As upstream third_party/forked/golang/expansion: $(NAME) is replaced, $$ is "$", anything else
  // (an unterminated "$(" included) is kept as written.
  for (size_t i = 0; i < expr.size(); ++i) {
    if (expr[i] != '$' || i + 1 >= expr.size()) {
      out += expr[i];
      continue;
    }
    if (expr[i + 1] == '$') {
      out += '$';
      ++i;
    } else if (expr[i + 1] == '(') {
      size_t close = expr.find(')', i + 2);
      if (close == std::string::npos) {
        out += expr.substr(i);
        break;
      }
      std::string name = expr.substr(i + 2, close - i - 2);
      auto it = vars.find(name);
      if (it == vars.end() || it->second.empty()) {
        missing.insert(name);
      } else {
        out += it->second;
      }
      i = close;
    } else {
      out += expr[i];
    }
  }
  if (!missing.empty()) {
    return Invalid("missing value for " +
                   Join(std::vector<std::string>(missing.begin(), missing.end()), ", "));
  }
  return out;
}

Result<std::vector<runtime::Mount>> ContainerMounts(const std::string& root_dir,
                                                    const api::Pod& pod, const api::Container& c,
                                                    const VolumePaths& volumes,
                                                    const EnvList* env) {
  std::vector<runtime::Mount> out;
  for (size_t i = 0; i < c.volume_mounts.size(); ++i) {
    const auto& m = c.volume_mounts[i];
    auto it = volumes.find(m.name);
    if (it == volumes.end()) {
      return Invalid("volume \"" + m.name + "\" of mount " + m.mount_path + " is not supported");
    }
    const api::Volume* spec = nullptr;
    for (const auto& v : pod.spec.volumes) {
      if (v.name == m.name) spec = &v;
    }
    runtime::Mount rm;
    rm.container_path = m.mount_path;
    rm.host_path = it->second;
    // API data volumes are always read-only, as upstream (the kubelet owns their content).
    rm.readonly = m.read_only || (spec && IsApiDataVolume(*spec));
    if (m.mount_propagation) {
      if (*m.mount_propagation == "HostToContainer") rm.propagation = "rslave";
      if (*m.mount_propagation == "Bidirectional") rm.propagation = "rshared";
    }
    std::string sub_path = m.sub_path;
    if (!m.sub_path_expr.empty()) {
      EnvList literal;
      if (!env) {
        for (const auto& e : c.env) {
          if (!e.value_from) literal.emplace_back(e.name, e.value);
        }
      }
      auto expanded = ExpandSubPathExpr(m.sub_path_expr, env ? *env : literal);
      if (!expanded.ok()) return std::move(expanded).error();
      sub_path = *expanded;
    }
    if (!sub_path.empty()) {
      // As upstream makeMounts.
      if (sub_path[0] == '/') {
        return Invalid("error SubPath `" + sub_path + "` must not be an absolute path");
      }
      for (const auto& elem : Split(sub_path, '/')) {
        if (elem == "..") {
          return Invalid("unable to provision SubPath `" + sub_path + "`: must not contain '..'");
        }
      }
      std::string target = PodDir(root_dir, pod.metadata.uid) + "/volume-subpaths/" + m.name + "/" +
                           c.name + "/" + std::to_string(i);
      auto bound = BindSubPath(it->second, sub_path, target);
      if (!bound.ok()) {
        return std::move(bound).error().Wrap("failed to prepare subPath for volumeMount \"" +
                                             m.name + "\" of container \"" + c.name + "\"");
      }
      rm.host_path = *bound;
    }
    out.push_back(rm);
  }
  return out;
}

Result<void> TearDownPodVolumes(const std::string& root_dir, const std::string& pod_uid) {
  std::string dir = PodDir(root_dir, pod_uid);
  for (const auto& mp : MountsBelow(dir)) {
    if (::umount2(mp.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL &&
        errno != ENOENT) {
      return ErrnoError("unmount " + mp);
    }
  }
  return RemoveAll(dir);
}

}  // namespace nanolet::volume
