set(MAILSEC_DMARC_SOURCES dmarc/record.c dmarc/psl.c dmarc/dmarc.c)

# RFC 7489 mode needs libpsl. lib/CMakeLists.txt links the libraries of
# every area when its targets exist; until it lists libpsl itself, link
# it from here once those targets are defined (end of lib/).
pkg_check_modules(PSL REQUIRED IMPORTED_TARGET GLOBAL libpsl)
if(NOT COMMAND mailsec_dmarc_link_psl)
	function(mailsec_dmarc_link_psl)
		target_link_libraries(mailsec_obj PUBLIC PkgConfig::PSL)
		target_link_libraries(mailsec_static PUBLIC PkgConfig::PSL)
		target_link_libraries(mailsec_shared PRIVATE PkgConfig::PSL)
	endfunction()
endif()
cmake_language(DEFER CALL mailsec_dmarc_link_psl)
