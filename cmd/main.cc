// nanolet: parses flags and wires the modules; no logic lives here.
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--version") {
    std::printf("nanolet v%s\n", NANOLET_VERSION);
    return 0;
  }
  std::fprintf(stderr, "nanolet: not wired yet\n");
  return 2;
}
