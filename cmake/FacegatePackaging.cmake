# The Debian package: `cpack -G DEB` in a build tree configured with the default prefix /usr
# writes facegate_<version>_<arch>.deb with everything `cmake --install` installs except the
# models (component "models"): they are fetched on the target by facegate-fetch-models, which
# checks them against the SHA256SUMS the package ships. Maintainer scripts are in
# packaging/deb/. Included at the end of the top-level CMakeLists.txt, after every install()
# rule, so that the component list below is complete.

if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "facegate: install prefix is ${CMAKE_INSTALL_PREFIX}, not /usr: "
                 "cpack -G DEB would build a package Debian does not expect")
endif()

set(FACEGATE_PACKAGE_MAINTAINER "facegate maintainers <maintainers@facegate.invalid>"
    CACHE STRING "Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME facegate)
set(CPACK_PACKAGE_VENDOR "facegate")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${FACEGATE_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)
set(CPACK_STRIP_FILES ON)

# Debian's documentation files. The changelog's first entry must be this version (checked
# here and by scripts/package-test.sh); a native package's changelog is changelog.gz.
file(STRINGS ${CMAKE_SOURCE_DIR}/packaging/deb/changelog facegate_changelog_top LIMIT_COUNT 1)
if(NOT facegate_changelog_top MATCHES "^facegate \\(${PROJECT_VERSION}\\) ")
  message(WARNING "packaging/deb/changelog does not start with an entry for ${PROJECT_VERSION}: "
                  "add one before building the Debian package")
endif()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS packaging/deb/changelog)
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/packaging/deb)
execute_process(COMMAND gzip -9nc ${CMAKE_SOURCE_DIR}/packaging/deb/changelog
                OUTPUT_FILE ${CMAKE_BINARY_DIR}/packaging/deb/changelog.gz COMMAND_ERROR_IS_FATAL ANY)
install(FILES ${CMAKE_BINARY_DIR}/packaging/deb/changelog.gz packaging/deb/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# One package holding every component but the models. The list is taken from the install()
# rules, so a new rule elsewhere is packaged without touching this file.
get_cmake_property(facegate_install_components COMPONENTS)
list(REMOVE_ITEM facegate_install_components models)
set(CPACK_COMPONENTS_ALL ${facegate_install_components})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)

set(CPACK_DEBIAN_PACKAGE_NAME facegate)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # facegate_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${FACEGATE_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The synopsis is the project's DESCRIPTION; this is the extended description.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "facegate checks at a school entrance that the pupil in front of the camera
is the owner of the badge shown: a signed QR code, then a 1:1 comparison of
dlib face embeddings against the pupil's enrolled template, which is stored
sealed under a secret only the badge carries. Every decision is written to a
hash-chained audit log.

This package provides the gate daemon facegated (a systemd service, not
enabled on installation), the enrolment and administration command facegate,
and facegate-fetch-models, which downloads and verifies the dlib models the
face engine needs (they are not part of the package).")
# Library dependencies come from dpkg-shlibdeps. BLAS is explicit: Debian's dlib links the
# generic libblas.so.3, which the reference BLAS also provides, and with it the ResNet
# embedding takes ~245 ms instead of ~15 ms. systemd provides systemd-sysusers (postinst).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# adduser is postinst's fallback where systemd-sysusers is missing.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libopenblas0-pthread | libopenblas0-openmp, systemd, adduser")
# npm fetches the models; without it, facegate-fetch-models --from DIR copies them.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "npm")

# Maintainer scripts and the conffile list. Files under the configuration directory are the
# administrator's: dpkg keeps their edits on upgrade and removes them only on purge.
set(facegate_control_dir ${CMAKE_BINARY_DIR}/packaging/deb)
foreach(script IN ITEMS postinst prerm postrm)
  configure_file(${CMAKE_SOURCE_DIR}/packaging/deb/${script} ${facegate_control_dir}/${script}
                 @ONLY FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                                        GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()
file(WRITE ${facegate_control_dir}/conffiles "${FACEGATE_CONFIG_DIR}/facegate.toml\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${facegate_control_dir}/conffiles ${facegate_control_dir}/postinst
    ${facegate_control_dir}/prerm ${facegate_control_dir}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
