#pragma once
// subPath mounts that cannot escape their volume (the class of CVE-2017-1002101), as upstream
// pkg/volume/util/subpath/subpath_linux.go: the subPath is opened from a descriptor of the volume
// with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) (symlinks are followed only while they stay
// inside the volume; missing directories are created with mkdirat below already-checked
// descriptors), and the opened inode is bind-mounted through /proc/self/fd/N onto a private target.
// The container mounts the target, so swapping a symlink into the volume after the check changes
// nothing.
#include <string>

#include "util/fs.h"
#include "util/result.h"

namespace nanolet::volume {

// Opens `volume_root`/`sub_path` with O_PATH without leaving `volume_root`; creates the subPath as
// a directory when it does not exist. An escape is an error saying so.
Result<UniqueFd> OpenSubPathBeneath(const std::string& volume_root, const std::string& sub_path);

// Bind-mounts the opened subPath onto `target` (created as an empty file or directory to match),
// replacing an earlier bind there. Returns `target`.
Result<std::string> BindSubPath(const std::string& volume_root, const std::string& sub_path,
                                const std::string& target);

}  // namespace nanolet::volume
