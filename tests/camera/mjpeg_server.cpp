// mjpeg_server: an IP camera's HTTP MJPEG stream in its own process, so that a test can
// freeze it (SIGSTOP: connections stay open and silent, like a hung encoder), kill it
// (SIGKILL: every connection drops at once, like a camera losing power) and start it again
// on the same port.
//
//   mjpeg_server [--port N] [--fps F] [--parent-pid P] < frame.jpg
//
// Reads one JPEG image from stdin (kept in memory only: no file holds the face it shows),
// then serves every path on 127.0.0.1:N (N = 0: a free port chosen by the kernel) as
// multipart/x-mixed-replace, the way most IP cameras serve MJPEG: that image, F times a
// second (default 15), to every connected client, any number of clients, accepting new ones
// at any time. Once listening it prints "listening on port N" on stdout (the test waits for
// that line). A client too slow to take a whole frame before the next one is due misses
// that frame, as with a real camera; a client that closes or fails is dropped. SIGTERM or
// SIGINT: exits 0. Exit 2: bad arguments, stdin that is not a JPEG image, or a port that
// cannot be bound.
//
// With --parent-pid, it dies with its parent (the test), so a test that crashes or is killed
// leaves no server behind on its port.
//
// The test encodes the frame; this program only sends bytes. Without OpenCV (and the ~140
// shared libraries Debian's imgcodecs pulls in) it starts in milliseconds, which matters to
// a test that restarts it 50 times.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kBoundary = "facegateframe";
constexpr std::size_t kMaxRequestBytes = 8192;

volatile std::sig_atomic_t gStop = 0;

extern "C" void onStopSignal(int /*sig*/) {
  gStop = 1;
}

struct Options {
  int port = 0;
  double fps = 15.0;
  pid_t parent = 0;  // 0: outlive the parent
};

bool parseArguments(const std::vector<std::string_view>& args, Options& options) {
  for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
    const std::string_view value = args[i + 1];
    if (args[i] == "--port") {
      const auto [end, ec] =
          std::from_chars(value.data(), value.data() + value.size(), options.port);
      if (ec != std::errc() || end != value.data() + value.size() || options.port < 0 ||
          options.port > 65535) {
        return false;
      }
    } else if (args[i] == "--parent-pid") {
      const auto [end, ec] =
          std::from_chars(value.data(), value.data() + value.size(), options.parent);
      if (ec != std::errc() || end != value.data() + value.size() || options.parent <= 0) {
        return false;
      }
    } else if (args[i] == "--fps") {
      try {
        options.fps = std::stod(std::string(value));
      } catch (const std::exception&) {
        return false;
      }
      if (!(options.fps > 0.0 && options.fps <= 120.0)) {
        return false;
      }
    } else {
      return false;
    }
  }
  return args.size() % 2 == 0;
}

// Everything on stdin if it is a JPEG image (starts with the SOI marker), else empty.
std::string readJpegFromStdin() {
  std::string bytes;
  char buffer[65536];
  for (;;) {
    const auto got = ::read(STDIN_FILENO, buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      return got == 0 && bytes.starts_with("\xFF\xD8") ? bytes : std::string();
    }
    bytes.append(buffer, static_cast<std::size_t>(got));
  }
}

int listenOn(int port, int& boundPort) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  // A restart on the same port must not wait for the connections of the killed server to
  // leave TIME_WAIT.
  const int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(fd, 16) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const int error = errno;
    ::close(fd);
    errno = error;
    return -1;
  }
  boundPort = ntohs(address.sin_port);
  return fd;
}

struct Client {
  int fd = -1;
  std::string request;  // until its blank line has arrived
  bool streaming = false;
  std::string pending;   // bytes queued for it
  std::size_t sent = 0;  // of `pending`
};

// Sends what the socket takes now; false when the client is gone.
bool flush(Client& client) {
  while (client.sent < client.pending.size()) {
    const auto n = ::send(client.fd, client.pending.data() + client.sent,
                          client.pending.size() - client.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
    client.sent += static_cast<std::size_t>(n);
  }
  client.pending.clear();
  client.sent = 0;
  return true;
}

// Reads what the client sent; false when it closed or failed. Before streaming, collects
// the request up to its blank line and then queues the response header.
bool receive(Client& client) {
  char buffer[2048];
  const auto n = ::recv(client.fd, buffer, sizeof(buffer), MSG_DONTWAIT);
  if (n == 0) {
    return false;
  }
  if (n < 0) {
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }
  if (client.streaming) {
    return true;  // nothing more is expected from a viewer; ignore it
  }
  client.request.append(buffer, static_cast<std::size_t>(n));
  if (client.request.find("\r\n\r\n") == std::string::npos) {
    return client.request.size() <= kMaxRequestBytes;
  }
  client.streaming = true;
  client.request.clear();
  client.pending += fmt::format(
      "HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary={}\r\n"
      "Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
      kBoundary);
  return flush(client);
}

int serve(int listener, const std::string& part, double fps) {
  const auto period =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / fps));
  std::vector<Client> clients;
  auto due = Clock::now();
  while (gStop == 0) {
    std::vector<pollfd> fds{{listener, POLLIN, 0}};
    for (const Client& c : clients) {
      fds.push_back({c.fd, static_cast<short>(POLLIN | (c.pending.empty() ? 0 : POLLOUT)), 0});
    }
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(due - Clock::now());
    const int ready =
        ::poll(fds.data(), fds.size(), static_cast<int>(std::max<std::int64_t>(0, wait.count())));
    if (ready < 0 && errno != EINTR) {
      std::perror("mjpeg_server: poll");
      return 1;
    }
    std::vector<bool> alive(clients.size(), true);
    for (std::size_t i = 0; ready > 0 && i < clients.size(); ++i) {
      const short events = fds[i + 1].revents;
      if ((events & (POLLERR | POLLNVAL)) != 0) {
        alive[i] = false;
        continue;
      }
      if ((events & (POLLIN | POLLHUP)) != 0) {
        alive[i] = receive(clients[i]);
      }
      if (alive[i] && (events & POLLOUT) != 0) {
        alive[i] = flush(clients[i]);
      }
    }
    if (Clock::now() >= due) {
      due += period;
      if (due < Clock::now()) {
        due = Clock::now() + period;  // after SIGSTOP: no burst of missed frames
      }
      for (std::size_t i = 0; i < clients.size(); ++i) {
        if (alive[i] && clients[i].streaming && clients[i].pending.empty()) {
          clients[i].pending = part;
          alive[i] = flush(clients[i]);
        }
      }
    }
    std::vector<Client> kept;
    for (std::size_t i = 0; i < clients.size(); ++i) {
      if (alive[i]) {
        kept.push_back(std::move(clients[i]));
      } else {
        ::close(clients[i].fd);
      }
    }
    clients = std::move(kept);
    if (ready > 0 && (fds[0].revents & POLLIN) != 0) {
      for (;;) {
        const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
          break;
        }
        clients.push_back(Client{fd, {}, false, {}, 0});
      }
    }
  }
  for (const Client& c : clients) {
    ::close(c.fd);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  Options options;
  if (!parseArguments(args, options)) {
    fmt::print(stderr, "usage: mjpeg_server [--port N] [--fps F] [--parent-pid P] < frame.jpg\n");
    return 2;
  }
  // SIGKILL when the parent dies; if it died before this call, getppid() already differs.
  if (options.parent != 0 &&
      (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != options.parent)) {
    return 2;
  }
  const std::string jpeg = readJpegFromStdin();
  if (jpeg.empty()) {
    fmt::print(stderr, "mjpeg_server: stdin does not hold a JPEG image\n");
    return 2;
  }
  const std::string part =
      fmt::format("--{}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n", kBoundary,
                  jpeg.size()) +
      jpeg + "\r\n";

  struct sigaction action {};
  action.sa_handler = onStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  (void)std::signal(SIGPIPE, SIG_IGN);  // a viewer gone mid-frame is an error from send()

  int port = 0;
  const int listener = listenOn(options.port, port);
  if (listener < 0) {
    fmt::print(stderr, "mjpeg_server: cannot listen on 127.0.0.1:{}: {}\n", options.port,
               std::strerror(errno));
    return 2;
  }
  fmt::print("listening on port {}\n", port);
  if (std::fflush(stdout) != 0) {
    return 2;  // nobody would know where to connect
  }
  const int status = serve(listener, part, options.fps);
  ::close(listener);
  return status;
}
