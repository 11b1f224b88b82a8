# Included into interface builds in the pip venv (CMAKE_PROJECT_INCLUDE), never on a robot.
#
# The ROS 2 wheels export CMake targets whose include directories point at the machine that built
# them (/opt/python/...). CMake refuses to generate with an imported target that names a missing
# directory, so once every find_package() has run, drop the directories that do not exist here.
# rosidl_generator_py finds this machine's Python and NumPy headers by itself.

function(_perception_drop_missing_include_dirs)
  get_property(_targets DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  foreach(_target IN LISTS _targets)
    get_target_property(_dirs ${_target} INTERFACE_INCLUDE_DIRECTORIES)
    if(NOT _dirs)
      continue()
    endif()
    set(_kept "")
    foreach(_dir IN LISTS _dirs)
      # Generator expressions are resolved later; keep them as they are.
      if(_dir MATCHES "^\\$<" OR EXISTS "${_dir}")
        list(APPEND _kept "${_dir}")
      endif()
    endforeach()
    set_target_properties(${_target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_kept}")
  endforeach()
endfunction()

cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _perception_drop_missing_include_dirs)
