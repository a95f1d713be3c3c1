# The Debian package (`make deb`, CPack): /usr/sbin/postern, the conffile
# /etc/postern/postern.toml, the systemd unit, the sysusers.d entry, and the
# man pages written by the binary itself (`postern manual PAGE`), so they
# never disagree with --help and the settings' schema.

set(POSTERN_MAN_DIR ${CMAKE_BINARY_DIR}/man)
set(POSTERN_MAN_PAGES ${POSTERN_MAN_DIR}/postern.8.gz ${POSTERN_MAN_DIR}/postern.toml.5.gz)
add_custom_command(
  OUTPUT ${POSTERN_MAN_PAGES}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${POSTERN_MAN_DIR}
  COMMAND ${CMAKE_SOURCE_DIR}/packaging/man-page $<TARGET_FILE:postern> postern.8
          ${POSTERN_MAN_DIR}/postern.8.gz
  COMMAND ${CMAKE_SOURCE_DIR}/packaging/man-page $<TARGET_FILE:postern> postern.toml.5
          ${POSTERN_MAN_DIR}/postern.toml.5.gz
  DEPENDS postern ${CMAKE_SOURCE_DIR}/packaging/man-page
  COMMENT "Writing the man pages postern(8) and postern.toml(5)"
  VERBATIM)
add_custom_target(man ALL DEPENDS ${POSTERN_MAN_PAGES})

install(TARGETS postern RUNTIME DESTINATION sbin)
install(FILES ${POSTERN_MAN_DIR}/postern.8.gz DESTINATION share/man/man8)
install(FILES ${POSTERN_MAN_DIR}/postern.toml.5.gz DESTINATION share/man/man5)
install(FILES packaging/copyright DESTINATION share/doc/postern)
install(FILES packaging/sysusers.conf DESTINATION lib/sysusers.d RENAME postern.conf)
# Absolute: outside the /usr prefix wherever the package is installed.
install(FILES packaging/postern.toml DESTINATION /etc/postern)
install(FILES packaging/postern.service DESTINATION /lib/systemd/system)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME postern)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Postern developers <postern@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The postinst makes the postern user with systemd-sysusers, or adduser.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd | adduser")
set(CPACK_DEBIAN_PACKAGE_PROVIDES "imap-server, pop3-server")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "mail access server: POP3, IMAP, submission and LMTP over one mailbox store")
# The synopsis is the summary above; CPack indents this body for control.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Postern serves POP3, IMAP4, SMTP submission and LMTP delivery over one
durable mailbox store, with live protocol settings, protocol logs,
connection limits and throttling, component states, health probes,
connectivity tests and mailbox repair.")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/debian/conffiles ${CMAKE_SOURCE_DIR}/packaging/debian/postinst
    ${CMAKE_SOURCE_DIR}/packaging/debian/prerm ${CMAKE_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
