/*
 * cxx.cc - C++ allocation: new/delete, new[]/delete[], over-aligned new,
 * nothrow new, exceptions thrown and caught, std::string/vector churn.
 *
 * libstdc++'s operator new calls malloc (aligned new calls aligned_alloc),
 * so the stack the profiler sees is malloc <- operator new <- our function.
 * The profile must name our function as the leaf, not operator new.
 *
 * Truth at exit (tests/integration/lib_pprof.py, CXX), requested sizes:
 *   new_site           100 objects / 4800 B,   40 / 1920 B in use  (sizeof(Obj) = 48)
 *   newarr_site         10 objects / 10000 B,  none in use         (new int[250])
 *   newarr_dtor_site     3 objects / 504 B,     3 / 504 B in use   (new Dtor[10]: 10*16 + 8-byte cookie)
 *   aligned_new_site     5 objects / 320 B,     5 / 320 B in use   (alignas(64), 64 B)
 *   nothrow_new_site     2 objects / 96 B,      2 / 96 B in use
 * Exceptions and container churn are checked only for transparency (their
 * allocations happen inside libstdc++).  stdout is fixed; exit code 0.
 */
#include <cstdio>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>
#include <algorithm>

struct Obj {
	long a[6];
};

struct Dtor {
	long a, b;
	~Dtor() { a = b = 0; }
};

struct alignas(64) Aligned {
	char c[64];
};

static_assert(sizeof(Obj) == 48, "Obj is 48 bytes");
static_assert(sizeof(Dtor) == 16, "Dtor is 16 bytes");
static_assert(sizeof(Aligned) == 64, "Aligned is 64 bytes");

static std::vector<void *> *keep_list;

static void keep(void *p)
{
	keep_list->push_back(p);
}

void new_site()
{
	Obj *v[100];
	for (int i = 0; i < 100; i++) {
		v[i] = new Obj; // @new_site
		v[i]->a[0] = i;
	}
	for (int i = 40; i < 100; i++)
		delete v[i];
	for (int i = 0; i < 40; i++)
		keep(v[i]);
}

void newarr_site()
{
	for (int i = 0; i < 10; i++) {
		int *a = new int[250]; // @newarr_site
		a[249] = i;
		delete[] a;
	}
}

void newarr_dtor_site()
{
	for (int i = 0; i < 3; i++)
		keep(new Dtor[10]); // @newarr_dtor_site
}

void aligned_new_site()
{
	for (int i = 0; i < 5; i++) {
		Aligned *a = new Aligned; // @aligned_new_site
		if (reinterpret_cast<unsigned long>(a) % 64 != 0)
			std::printf("cxx: misaligned new\n");
		keep(a);
	}
}

void nothrow_new_site()
{
	for (int i = 0; i < 2; i++)
		keep(new (std::nothrow) Obj); // @nothrow_new_site
}

static void thrower(int i)
{
	std::vector<int> v(100, i);
	std::string s(100, 'x');
	if (i % 2)
		throw std::runtime_error("a message long enough to need the heap, round " + std::to_string(i));
	if (i % 5 == 0)
		throw std::out_of_range(s);
}

static int exceptions()
{
	int caught = 0;
	size_t len = 0;
	for (int i = 0; i < 2000; i++) {
		try {
			try {
				thrower(i);
			} catch (const std::out_of_range &) {
				throw; // rethrow to the outer handler
			}
		} catch (const std::exception &e) {
			caught++;
			len += std::strlen(e.what());
		}
	}
	std::printf("cxx: caught %d exceptions, %zu message bytes\n", caught, len);
	return caught;
}

static void churn()
{
	std::vector<std::string> v;
	for (int i = 0; i < 20000; i++)
		v.push_back(std::string("item-") + std::to_string(i * 7919 % 20000) + std::string(i % 50, 'z'));
	std::sort(v.begin(), v.end());
	unsigned long h = 0;
	for (const auto &s : v)
		for (char c : s)
			h = h * 31 + (unsigned char)c;
	v.erase(std::remove_if(v.begin(), v.end(), [](const std::string &s) { return s.size() > 30; }), v.end());
	v.shrink_to_fit();
	std::printf("cxx: %zu strings left, hash %lu\n", v.size(), h);
}

int main()
{
	keep_list = new std::vector<void *>;
	keep_list->reserve(100);
	new_site();
	newarr_site();
	newarr_dtor_site();
	aligned_new_site();
	nothrow_new_site();
	exceptions();
	churn();
	std::printf("cxx: kept %zu blocks\n", keep_list->size());
	return 0;
}
