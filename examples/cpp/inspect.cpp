// inspect - libsafetensors from C++17: a small RAII wrapper and its use.
//
//   inspect FILE [TENSOR]
//
// Lists the tensors and metadata of FILE, then reads TENSOR (or the first
// F32/F16/BF16 tensor with elements) as float: in place when the library can
// view it (st_tensor_as_f32), else through a copy. Exit status 0 on success,
// 1 when the file is invalid or the tensor cannot be read, 2 on usage error.
//
// The wrapper lives in this example, not in the library: the C ABI stays the
// only interface, and a C++ program can take what it needs from here.
#include <safetensors.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace st {

// Owns an st_file*: st_close() runs when the unique_ptr goes out of scope,
// on every path, exceptions included.
struct FileCloser {
    void operator()(st_file *f) const noexcept { st_close(f); }
};
using File = std::unique_ptr<st_file, FileCloser>;

// A failed call, with the library's error record.
class Error : public std::runtime_error {
public:
    explicit Error(const st_error &e)
        : std::runtime_error(std::string(e.message) + " [" + st_status_name(e.code) + "]"),
          record_(e) {}
    Error(st_status s, const std::string &what)
        : std::runtime_error(what + ": " + st_status_message(s) + " [" + st_status_name(s) + "]"),
          record_() {
        record_.code = s;
    }
    st_status status() const { return static_cast<st_status>(record_.code); }
    bool has_offset() const { return (record_.flags & ST_ERROR_HAS_OFFSET) != 0; }
    std::uint64_t offset() const { return record_.offset; }
    const char *tensor() const { return (record_.flags & ST_ERROR_HAS_TENSOR) ? record_.tensor : ""; }

private:
    st_error record_;
};

inline File open(const std::string &path, std::uint32_t flags = 0) {
    st_open_options opts = ST_OPEN_OPTIONS_INIT;
    opts.flags = flags;
    st_file *raw = nullptr;
    st_error err;
    if (st_open_path(&raw, path.c_str(), &opts, &err) != ST_OK) throw Error(err);
    return File(raw);
}

// The tensors in file order, as pointers into the handle (valid while it lives).
inline std::vector<const st_tensor *> tensors(const File &f) {
    std::vector<const st_tensor *> out;
    const std::uint64_t n = st_tensor_count(f.get());
    out.reserve(static_cast<std::size_t>(n));
    for (std::uint64_t i = 0; i < n; i++) out.push_back(st_tensor_at(f.get(), i));
    return out;
}

inline const st_tensor *find(const File &f, std::string_view name) {
    return st_tensor_find_n(f.get(), name.data(), name.size());
}

inline std::string shape_string(const st_tensor &t) {
    std::string s = "[";
    for (std::uint32_t i = 0; i < t.rank; i++) {
        if (i) s += ", ";
        s += std::to_string(t.shape[i]);
    }
    return s + "]";
}

// A read-only span of floats that either points into the mapping or owns a copy.
class Floats {
public:
    const float *data() const { return ptr_; }
    std::size_t size() const { return size_; }
    bool zero_copy() const { return copy_.empty() && size_ != 0; }
    const float &operator[](std::size_t i) const { return ptr_[i]; }

    // F32: viewed in place when aligned, else copied. F16 / BF16: converted.
    static Floats read(const st_tensor &t) {
        Floats out;
        out.size_ = static_cast<std::size_t>(t.numel);
        if (t.dtype == ST_F32) {
            const float *p = nullptr;
            st_status s = st_tensor_as_f32(&t, &p);
            if (s == ST_OK) {
                out.ptr_ = p;
                return out;
            }
            if (s != ST_E_MISALIGNED) throw Error(s, std::string("viewing ") + t.name);
            out.copy_.resize(out.size_);
            s = st_tensor_copy(&t, 0, out.copy_.data(), t.nbytes);
            if (s != ST_OK) throw Error(s, std::string("copying ") + t.name);
        } else if (t.dtype == ST_BF16 || t.dtype == ST_F16) {
            std::vector<std::uint16_t> bits(out.size_);
            st_status s = st_tensor_copy(&t, 0, bits.data(), t.nbytes);
            if (s != ST_OK) throw Error(s, std::string("copying ") + t.name);
            out.copy_.resize(out.size_);
            for (std::size_t i = 0; i < out.size_; i++)
                out.copy_[i] = t.dtype == ST_BF16 ? bf16(bits[i]) : f16(bits[i]);
        } else {
            throw Error(ST_E_DTYPE_MISMATCH, std::string("reading ") + t.name + " as float");
        }
        out.ptr_ = out.copy_.data();
        return out;
    }

private:
    static float bf16(std::uint16_t b) {
        std::uint32_t u = static_cast<std::uint32_t>(b) << 16;
        float f;
        std::memcpy(&f, &u, sizeof f);
        return f;
    }
    static float f16(std::uint16_t h) {
        const std::uint32_t sign = (h & 0x8000u) << 16;
        std::uint32_t exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu, u;
        if (exp == 0x1F) {
            u = sign | 0x7F800000u | (man << 13);  // inf / NaN
        } else if (exp != 0) {
            u = sign | ((exp + 112) << 23) | (man << 13);
        } else if (man == 0) {
            u = sign;  // signed zero
        } else {       // subnormal: normalise
            exp = 113;
            while (!(man & 0x400u)) { man <<= 1; exp--; }
            u = sign | (exp << 23) | ((man & 0x3FFu) << 13);
        }
        float f;
        std::memcpy(&f, &u, sizeof f);
        return f;
    }

    const float *ptr_ = nullptr;
    std::size_t size_ = 0;
    std::vector<float> copy_;
};

}  // namespace st

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: inspect FILE [TENSOR]\n");
        return 2;
    }
    try {
        st::File f = st::open(argv[1]);
        const auto list = st::tensors(f);
        std::printf("%s: %zu tensor(s), libsafetensors %s\n", argv[1], list.size(),
                    st_version_string());
        for (const st_tensor *t : list)
            std::printf("  %-44s %-5s %-12s %llu bytes\n", t->name, st_dtype_name(t->dtype),
                        st::shape_string(*t).c_str(), static_cast<unsigned long long>(t->nbytes));
        for (std::uint64_t i = 0; i < st_metadata_count(f.get()); i++) {
            const st_metadata_entry *m = st_metadata_at(f.get(), i);
            if (!m) throw std::bad_alloc(); // entries are made on first use
            std::printf("  meta %s = %.*s\n", m->key, static_cast<int>(m->value_len), m->value);
        }

        const st_tensor *t = nullptr;
        if (argc == 3) {
            t = st::find(f, argv[2]);
            if (!t) {
                std::fprintf(stderr, "%s: no tensor named '%s'\n", argv[1], argv[2]);
                return 1;
            }
        } else {
            for (const st_tensor *c : list)
                if ((c->dtype == ST_F32 || c->dtype == ST_BF16 || c->dtype == ST_F16) && c->numel) {
                    t = c;
                    break;
                }
            if (!t) {
                std::printf("no float tensor with elements to read\n");
                return 0;
            }
        }
        const st::Floats x = st::Floats::read(*t);
        const std::size_t n = x.size() < 8 ? x.size() : 8;
        std::printf("%s (%s, %s):", t->name, st_dtype_name(t->dtype),
                    x.zero_copy() ? "zero copy" : "copied");
        for (std::size_t i = 0; i < n; i++) std::printf(" %g", static_cast<double>(x[i]));
        std::printf("%s\n", x.size() > n ? " ..." : "");
        return 0;  // f closes here
    } catch (const st::Error &e) {
        std::fprintf(stderr, "%s: error: %s", argv[1], e.what());
        if (e.has_offset()) std::fprintf(stderr, " (at byte %llu)", static_cast<unsigned long long>(e.offset()));
        if (*e.tensor()) std::fprintf(stderr, " (tensor '%s')", e.tensor());
        std::fprintf(stderr, "\n");
        return 1;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s: %s\n", argv[1], e.what());
        return 1;
    }
}
