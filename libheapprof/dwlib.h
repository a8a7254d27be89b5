/*
 * dwlib.h - elfutils (libdw, libelf) through pointers, loaded at the first
 * profile that names functions (dwlib.c), not with the library.
 *
 * Linked, libdw and what it needs (libelf, liblzma, libbz2) were mapped and
 * relocated at every start of every profiled process: about 0.4 ms of the
 * 1.0 ms heapprof added to a start of /bin/true (session 18), paid again by
 * each child a profiled program execs, whether or not it ever writes a
 * profile.  Included after the elfutils headers, this header turns each
 * call of theirs in symbolize.c and profile.c into a call through
 * hp_dwlib; the build links without -ldw -lelf and with --no-undefined,
 * so a call left out of the list below fails the link.
 */
#ifndef HP_DWLIB_H
#define HP_DWLIB_H

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>

#define HP_DWLIB_FUNCS(X) \
	X(dwarf_attr) X(dwarf_attr_integrate) X(dwarf_child) X(dwarf_filesrc) \
	X(dwarf_formstring) X(dwarf_formudata) X(dwarf_getsrc_die) X(dwarf_getsrcfiles) \
	X(dwarf_haspc) X(dwarf_lineno) X(dwarf_linesrc) X(dwarf_ranges) \
	X(dwarf_siblingof) X(dwarf_tag) X(dwfl_addrmodule) X(dwfl_begin) \
	X(dwfl_end) X(dwfl_linux_proc_attach) X(dwfl_linux_proc_find_elf) X(dwfl_linux_proc_report) \
	X(dwfl_module_addrdie) X(dwfl_module_build_id) X(dwfl_module_getelf) X(dwfl_module_getsym_info) \
	X(dwfl_module_getsymtab) X(dwfl_module_info) X(dwfl_module_nextcu) X(dwfl_report_begin) \
	X(dwfl_report_begin_add) X(dwfl_report_elf) X(dwfl_report_end) X(elf_begin) \
	X(elf_end) X(elf_getdata) X(elf_getdata_rawchunk) X(elf_getident) \
	X(elf_getphdrnum) X(elf_getscn) X(elf_getshdrstrndx) X(elf_kind) \
	X(elf_nextscn) X(elf_strptr) X(elf_version) X(gelf_getehdr) \
	X(gelf_getnote) X(gelf_getphdr) X(gelf_getshdr)

struct hp_dwlib {
#define HP_DWLIB_PTR(f) __typeof__(&f) f;
	HP_DWLIB_FUNCS(HP_DWLIB_PTR)
#undef HP_DWLIB_PTR
};
extern struct hp_dwlib hp_dwlib;

/* Loads libdw.so.1 (libelf with it) once, from any thread; 0 when every
 * pointer is set, -1 when it cannot be (a profile then holds addresses and
 * mappings, no names). */
int hp_dwlib_load(void);

#ifndef HP_DWLIB_SELF
#define dwarf_attr (hp_dwlib.dwarf_attr)
#define dwarf_attr_integrate (hp_dwlib.dwarf_attr_integrate)
#define dwarf_child (hp_dwlib.dwarf_child)
#define dwarf_filesrc (hp_dwlib.dwarf_filesrc)
#define dwarf_formstring (hp_dwlib.dwarf_formstring)
#define dwarf_formudata (hp_dwlib.dwarf_formudata)
#define dwarf_getsrc_die (hp_dwlib.dwarf_getsrc_die)
#define dwarf_getsrcfiles (hp_dwlib.dwarf_getsrcfiles)
#define dwarf_haspc (hp_dwlib.dwarf_haspc)
#define dwarf_lineno (hp_dwlib.dwarf_lineno)
#define dwarf_linesrc (hp_dwlib.dwarf_linesrc)
#define dwarf_ranges (hp_dwlib.dwarf_ranges)
#define dwarf_siblingof (hp_dwlib.dwarf_siblingof)
#define dwarf_tag (hp_dwlib.dwarf_tag)
#define dwfl_addrmodule (hp_dwlib.dwfl_addrmodule)
#define dwfl_begin (hp_dwlib.dwfl_begin)
#define dwfl_end (hp_dwlib.dwfl_end)
#define dwfl_linux_proc_attach (hp_dwlib.dwfl_linux_proc_attach)
#define dwfl_linux_proc_find_elf (hp_dwlib.dwfl_linux_proc_find_elf)
#define dwfl_linux_proc_report (hp_dwlib.dwfl_linux_proc_report)
#define dwfl_module_addrdie (hp_dwlib.dwfl_module_addrdie)
#define dwfl_module_build_id (hp_dwlib.dwfl_module_build_id)
#define dwfl_module_getelf (hp_dwlib.dwfl_module_getelf)
#define dwfl_module_getsym_info (hp_dwlib.dwfl_module_getsym_info)
#define dwfl_module_getsymtab (hp_dwlib.dwfl_module_getsymtab)
#define dwfl_module_info (hp_dwlib.dwfl_module_info)
#define dwfl_module_nextcu (hp_dwlib.dwfl_module_nextcu)
#define dwfl_report_begin (hp_dwlib.dwfl_report_begin)
#define dwfl_report_begin_add (hp_dwlib.dwfl_report_begin_add)
#define dwfl_report_elf (hp_dwlib.dwfl_report_elf)
#define dwfl_report_end (hp_dwlib.dwfl_report_end)
#define elf_begin (hp_dwlib.elf_begin)
#define elf_end (hp_dwlib.elf_end)
#define elf_getdata (hp_dwlib.elf_getdata)
#define elf_getdata_rawchunk (hp_dwlib.elf_getdata_rawchunk)
#define elf_getident (hp_dwlib.elf_getident)
#define elf_getphdrnum (hp_dwlib.elf_getphdrnum)
#define elf_getscn (hp_dwlib.elf_getscn)
#define elf_getshdrstrndx (hp_dwlib.elf_getshdrstrndx)
#define elf_kind (hp_dwlib.elf_kind)
#define elf_nextscn (hp_dwlib.elf_nextscn)
#define elf_strptr (hp_dwlib.elf_strptr)
#define elf_version (hp_dwlib.elf_version)
#define gelf_getehdr (hp_dwlib.gelf_getehdr)
#define gelf_getnote (hp_dwlib.gelf_getnote)
#define gelf_getphdr (hp_dwlib.gelf_getphdr)
#define gelf_getshdr (hp_dwlib.gelf_getshdr)
#endif

#endif
