#include "runner/git_support.h"

#include <algorithm>
#include <cctype>
#include <mutex>

#include "util/redact.h"

namespace forgehand::runner {

namespace {

// "https://user@Host:8443/path" → "host:8443"; empty when there is no authority.
std::string authority_of(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  std::string host(rest);
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return host;
}

ErrorCode code_for_http_status(std::string_view detail, ErrorCode otherwise) {
  // libgit2 1.5 reports an unexpected answer as "unexpected http status code: 404".
  if (detail.find("status code: 401") != std::string_view::npos) return ErrorCode::unauthorized;
  if (detail.find("status code: 403") != std::string_view::npos) return ErrorCode::forbidden;
  if (detail.find("status code: 404") != std::string_view::npos) return ErrorCode::not_found;
  return otherwise;
}

}  // namespace

Result<void> initialize_git(const std::string& ca_bundle) {
  static const int initialized = [] {
    int result = git_libgit2_init();
    if (result < 0) return result;
    for (int level : {GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG, GIT_CONFIG_LEVEL_GLOBAL}) {
      result = git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, level, "");
      if (result < 0) return result;
    }
    // Re-hashing every object read is a fifth of a checkout's time and guards nothing here:
    // objects are read from mirrors and from copies made before an agent runs; publish reads
    // nothing an agent wrote but the working tree (open_checkout in publish.cpp).
    return git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
  }();
  if (initialized < 0) return tl::unexpected(git_failure(initialized, "initialise libgit2"));
  if (ca_bundle.empty()) return {};

  static std::mutex mutex;
  static std::string applied;
  std::lock_guard lock(mutex);
  if (applied == ca_bundle) return {};
  if (!applied.empty()) {
    return fail(ErrorCode::config, "git: one CA bundle per process: " + applied + " is in use, " +
                                       ca_bundle + " was asked for");
  }
  if (int result = git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, ca_bundle.c_str(), nullptr);
      result < 0) {
    Error error = git_failure(result, "git: load CA bundle " + ca_bundle);
    error.code = ErrorCode::config;
    return tl::unexpected(error);
  }
  applied = ca_bundle;
  return {};
}

Error git_failure(int code, std::string_view what) {
  const git_error* last = git_error_last();
  std::string detail = last != nullptr && last->message != nullptr
                           ? std::string(last->message)
                           : "libgit2 error " + std::to_string(code);
  int klass = last != nullptr ? last->klass : GIT_ERROR_NONE;
  ErrorCode mapped = ErrorCode::io;
  switch (code) {
    case GIT_EAUTH:
      mapped = ErrorCode::unauthorized;
      break;
    case GIT_ECERTIFICATE:
      mapped = ErrorCode::config;
      break;
    case GIT_ENOTFOUND:
      mapped = ErrorCode::not_found;
      break;
    case GIT_EEXISTS:
    case GIT_ENONFASTFORWARD:
    case GIT_ELOCKED:
    case GIT_EMODIFIED:
      mapped = ErrorCode::conflict;
      break;
    case GIT_EOWNER:
      mapped = ErrorCode::forbidden;
      break;
    case GIT_EINVALIDSPEC:
      mapped = ErrorCode::invalid_argument;
      break;
    default:
      if (klass == GIT_ERROR_NET || klass == GIT_ERROR_HTTP || klass == GIT_ERROR_SSL) {
        mapped = code_for_http_status(detail, ErrorCode::unavailable);
      }
  }
  return Error{mapped, std::string(what) + ": " + redact(detail)};
}

std::string oid_hex(const git_oid& oid) {
  char text[GIT_OID_HEXSZ + 1];
  git_oid_tostr(text, sizeof text, &oid);
  return text;
}

bool is_full_sha(std::string_view text) {
  return text.size() == GIT_OID_HEXSZ && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Result<void> check_remote_url(std::string_view url) {
  if (!url.starts_with("https://") && !url.starts_with("http://")) {
    auto scheme = url.find("://");
    return fail(ErrorCode::invalid_argument,
                "git: only http(s) remotes are fetched from or pushed to, not " +
                    (scheme == std::string_view::npos ? std::string("a local path")
                                                      : std::string(url.substr(0, scheme))));
  }
  std::string_view rest = url.substr(url.find("://") + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) {
    // Not echoing the URL: its user part may be a token.
    return fail(ErrorCode::invalid_argument,
                "git: the remote URL carries credentials; they go through the credential "
                "callback only");
  }
  if (authority.empty())
    return fail(ErrorCode::invalid_argument, "git: the remote URL has no host");
  return {};
}

Result<RemotePtr> anonymous_remote(git_repository* repository, const std::string& url) {
  git_remote_create_options options = GIT_REMOTE_CREATE_OPTIONS_INIT;
  options.repository = repository;
  options.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
  git_remote* remote = nullptr;
  if (int result = git_remote_create_with_opts(&remote, url.c_str(), &options); result < 0) {
    return tl::unexpected(git_failure(result, "git: remote " + url));
  }
  return RemotePtr(remote);
}

RemoteSession::RemoteSession(const GitCredentials& credentials, int max_auth_attempts)
    : credentials_(credentials), max_auth_attempts_(max_auth_attempts) {}

git_remote_callbacks RemoteSession::callbacks() {
  git_remote_callbacks callbacks = GIT_REMOTE_CALLBACKS_INIT;
  callbacks.credentials = &RemoteSession::on_credentials;
  callbacks.certificate_check = &RemoteSession::on_certificate;
  callbacks.push_update_reference = &RemoteSession::on_ref_update;
  callbacks.sideband_progress = &RemoteSession::on_sideband;
  callbacks.payload = this;
  return callbacks;
}

Error RemoteSession::failure(int code, std::string_view what) const {
  std::string prefix(what);
  if (!refused_host_.empty()) {
    return Error{ErrorCode::unauthorized,
                 prefix + ": redirected to " + refused_host_ + "; credentials for " +
                     authority_of(credentials_.clone_url) + " are not sent to another host"};
  }
  if (exhausted_) {
    if (attempts_ == 0) {
      return Error{ErrorCode::unauthorized,
                   prefix + ": the server asks for credentials and the forge gave none"};
    }
    return Error{ErrorCode::unauthorized, prefix + ": the server refused the credentials for " +
                                              credentials_.username + " (" +
                                              std::to_string(attempts_) + " attempts)"};
  }
  if (!untrusted_host_.empty()) {
    return Error{ErrorCode::config, prefix + ": the TLS certificate of " + untrusted_host_ +
                                        " is not trusted (a private CA goes in ca_bundle)"};
  }
  return git_failure(code, what);
}

int RemoteSession::on_credentials(git_credential** out, const char* url, const char*,
                                  unsigned int allowed_types, void* payload) {
  auto* self = static_cast<RemoteSession*>(payload);
  std::string asking = authority_of(url != nullptr ? url : "");
  if (asking != authority_of(self->credentials_.clone_url)) {
    self->refused_host_ = asking;
    git_error_set_str(GIT_ERROR_NET, "credentials asked for by another host");
    return GIT_EAUTH;
  }
  if ((allowed_types & GIT_CREDENTIAL_USERPASS_PLAINTEXT) == 0) {
    git_error_set_str(GIT_ERROR_NET, "the server asks for a kind of credential forgehand lacks");
    return GIT_EAUTH;
  }
  if (self->credentials_.password.empty() || self->attempts_ >= self->max_auth_attempts_) {
    self->exhausted_ = true;
    git_error_set_str(GIT_ERROR_NET, "credentials refused");
    return GIT_EAUTH;
  }
  ++self->attempts_;
  return git_credential_userpass_plaintext_new(out, self->credentials_.username.c_str(),
                                               self->credentials_.password.reveal().c_str());
}

int RemoteSession::on_certificate(git_cert*, int valid, const char* host, void* payload) {
  if (valid != 0) return 0;
  auto* self = static_cast<RemoteSession*>(payload);
  self->untrusted_host_ = host != nullptr ? host : "the server";
  git_error_set_str(GIT_ERROR_SSL, "certificate not trusted");
  return GIT_ECERTIFICATE;
}

int RemoteSession::on_ref_update(const char* refname, const char* status, void* payload) {
  auto* self = static_cast<RemoteSession*>(payload);
  self->statuses_.push_back({refname != nullptr ? refname : "", status != nullptr ? status : ""});
  return 0;
}

int RemoteSession::on_sideband(const char* text, int length, void* payload) {
  constexpr std::size_t kMaxMessages = 4096;
  auto* self = static_cast<RemoteSession*>(payload);
  if (length > 0 && self->messages_.size() < kMaxMessages) {
    self->messages_.append(text, std::min<std::size_t>(static_cast<std::size_t>(length),
                                                       kMaxMessages - self->messages_.size()));
  }
  return 0;
}

Result<std::map<std::string, std::string>> connect_and_list(git_remote* remote,
                                                            RemoteSession& session,
                                                            git_direction direction,
                                                            std::string_view what) {
  git_remote_connect_options connect = GIT_REMOTE_CONNECT_OPTIONS_INIT;
  connect.callbacks = session.callbacks();
  connect.follow_redirects = GIT_REMOTE_REDIRECT_NONE;
  if (int result = git_remote_connect_ext(remote, direction, &connect); result < 0) {
    return tl::unexpected(session.failure(result, what));
  }
  const git_remote_head** heads = nullptr;
  std::size_t count = 0;
  if (int result = git_remote_ls(&heads, &count, remote); result < 0) {
    return tl::unexpected(session.failure(result, what));
  }
  std::map<std::string, std::string> advertised;
  for (std::size_t i = 0; i < count; ++i) advertised[heads[i]->name] = oid_hex(heads[i]->oid);
  return advertised;
}

}  // namespace forgehand::runner
